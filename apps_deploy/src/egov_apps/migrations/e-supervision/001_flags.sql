CREATE TABLE flags (
  application_id bigint PRIMARY KEY,
  department     text NOT NULL,
  due_at         timestamptz NOT NULL,
  flagged_at     timestamptz NOT NULL DEFAULT now()
);
