CREATE TABLE tickets (
  id           bigserial PRIMARY KEY,
  ticket_no    text GENERATED ALWAYS AS ('12345-' || lpad(id::text, 9, '0')) STORED UNIQUE,
  created_at   timestamptz NOT NULL DEFAULT now(),
  caller_phone text NOT NULL,
  citizen_id   char(18),
  town_id      text NOT NULL,
  category     text NOT NULL CHECK (category IN ('咨询', '求助', '投诉', '举报', '建议')),
  content      text NOT NULL,
  status       text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'assigned', 'answered', 'closed')),
  department   text,
  due_at       timestamptz NOT NULL,
  client_ref   text UNIQUE
);
CREATE INDEX tickets_status ON tickets (status, id);
