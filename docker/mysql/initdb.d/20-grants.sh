# Sourced by the MySQL image's entrypoint on the first start: the
# producer's grants, the same file the native stack applies (stack/sql/producer-grants.sql),
# to the user the image created for any host.
sed "/^--/!s/@ACCOUNTS@/'$MYSQL_USER'@'%'/g" /sluice/sql/producer-grants.sql | docker_process_sql
