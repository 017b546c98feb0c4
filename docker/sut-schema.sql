nnect sut
-- The reference system's table, as system-under-test/database-cluster.ts makes it for npm run sut:start.
CREATE TABLE items (id bigserial PRIMARY KEY, name text NOT NULL, payload jsonb, created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO items (name, payload) SELECT 'item ' || n, jsonb_build_object('n', n) FROM generate_series(1, 1000) AS n;
ALTER TABLE items OWNER TO sut;
