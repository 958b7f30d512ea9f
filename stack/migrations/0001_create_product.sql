-- The product catalogue that sluice streams. last_updated carries microseconds and moves on
-- every update, so the producer can read changes in (last_updated, id) order; the index makes
-- each page a range read instead of a table scan. IF NOT EXISTS: a database whose table was
-- made before these migrations were recorded by sqlx takes this one as applied.
CREATE TABLE IF NOT EXISTS product (
    id INT PRIMARY KEY,
    name VARCHAR(255),
    category VARCHAR(255),
    price FLOAT,
    last_updated TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    INDEX product_last_updated_id (last_updated, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
