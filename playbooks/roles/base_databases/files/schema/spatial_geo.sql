-- 自然资源和空间地理基础信息库: land parcels by town, land use (GB/T 21010 classes), area, coordinates
CREATE TABLE IF NOT EXISTS parcels (
  parcel_id text PRIMARY KEY,
  town_id   text NOT NULL,
  land_use  text NOT NULL,
  area_m2   numeric(12, 2) NOT NULL CHECK (area_m2 > 0),
  lon       numeric(9, 6) NOT NULL CHECK (lon BETWEEN 73 AND 136),
  lat       numeric(9, 6) NOT NULL CHECK (lat BETWEEN 3 AND 54)
);
CREATE INDEX IF NOT EXISTS parcels_town_use ON parcels (town_id, land_use);
