-- 宏观经济基础信息库: economic indicators by year and town
CREATE TABLE IF NOT EXISTS indicators (
  year      smallint NOT NULL CHECK (year BETWEEN 1949 AND 2100),
  town_id   text NOT NULL,
  indicator text NOT NULL,
  name      text NOT NULL,
  unit      text NOT NULL,
  value     numeric(16, 2) NOT NULL,
  PRIMARY KEY (year, town_id, indicator)
);
