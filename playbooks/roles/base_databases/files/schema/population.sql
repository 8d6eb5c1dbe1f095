-- 人口基础信息库: persons keyed by citizen ID number (GB 11643, valid check digit enforced)
CREATE OR REPLACE FUNCTION citizen_id_valid(id text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT id ~ '^[0-9]{17}[0-9X]$' AND substr('10X98765432',
    (SELECT sum(substr(id, i::int, 1)::int * w) FROM unnest(ARRAY[7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2]) WITH ORDINALITY AS t(w, i))::int % 11 + 1, 1)
    = substr(id, 18, 1) $$;
CREATE TABLE IF NOT EXISTS persons (
  citizen_id   char(18) PRIMARY KEY CHECK (citizen_id_valid(citizen_id)),
  name         text NOT NULL,
  sex          char(1) NOT NULL CHECK (sex IN ('M', 'F')),
  birth_date   date NOT NULL,
  household_id text NOT NULL,
  address      text NOT NULL,
  town_id      text NOT NULL
);
CREATE INDEX IF NOT EXISTS persons_household ON persons (household_id);
CREATE INDEX IF NOT EXISTS persons_town ON persons (town_id);
