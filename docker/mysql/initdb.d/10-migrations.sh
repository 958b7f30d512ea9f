# Sourced by the MySQL image's entrypoint on the first start: applies sluice's versioned
# migrations, the same files the native stack applies, in order.
for migration in /sluice/migrations/*.sql; do
  echo "applying ${migration##*/}"
  docker_process_sql < "$migration"
done
