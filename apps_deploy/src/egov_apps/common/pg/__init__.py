"""Django's PostgreSQL backend, plus one thing the DR drills need: with a multi-host DSN
(`host=a,b&target_session_attrs=read-write`), the host that last answered read-write is tried
first. After a failover only the first new connection of a process waits out the lost primary's
connect timeout; the rest go straight to the new one (libpq alone would try the dead host first
every time)."""
