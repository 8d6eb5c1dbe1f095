CREATE TABLE service_items (
  code          text PRIMARY KEY,
  name          text NOT NULL,
  department    text NOT NULL,
  deadline_days int NOT NULL CHECK (deadline_days > 0),
  fee           text NOT NULL,
  conditions    jsonb NOT NULL,
  materials     jsonb NOT NULL,
  steps         jsonb NOT NULL,
  views         bigint NOT NULL DEFAULT 0
);
