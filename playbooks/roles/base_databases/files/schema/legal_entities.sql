-- 法人单位基础信息库: legal entities keyed by unified social credit code (GB 32100, check char enforced)
CREATE OR REPLACE FUNCTION uscc_valid(code text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT code ~ '^[0-9A-HJ-NPQRTUWXY]{18}$' AND substr('0123456789ABCDEFGHJKLMNPQRTUWXY',
    (31 - (SELECT sum((strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, i::int, 1)) - 1) * w)
           FROM unnest(ARRAY[1,3,9,27,19,26,16,17,20,29,25,13,8,24,10,30,28]) WITH ORDINALITY AS t(w, i))::int % 31) % 31 + 1, 1)
    = substr(code, 18, 1) $$;
CREATE TABLE IF NOT EXISTS entities (
  uscc                 char(18) PRIMARY KEY CHECK (uscc_valid(uscc)),
  name                 text NOT NULL UNIQUE,
  legal_representative text NOT NULL,
  registered_capital   numeric(14, 2) NOT NULL CHECK (registered_capital >= 0),
  established          date NOT NULL,
  town_id              text NOT NULL
);
CREATE INDEX IF NOT EXISTS entities_town ON entities (town_id);
