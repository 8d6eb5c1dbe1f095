CREATE TABLE joint_applications (
  id           bigserial PRIMARY KEY,
  uscc         char(18) NOT NULL,
  departments  text[] NOT NULL,
  submitted_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE applications (
  id             bigserial PRIMARY KEY,
  joint_id       bigint REFERENCES joint_applications (id),
  item_code      text NOT NULL,
  department     text NOT NULL,
  applicant_type text NOT NULL CHECK (applicant_type IN ('person', 'entity')),
  applicant_id   char(18) NOT NULL,
  town_id        text,
  submitted_at   timestamptz NOT NULL DEFAULT now(),
  due_at         timestamptz NOT NULL,
  status         text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'completed', 'rejected')),
  completed_at   timestamptz,
  client_ref     text UNIQUE
);
CREATE INDEX applications_open_due ON applications (due_at) WHERE status = 'open';
