#!/bin/sh
# contrib/pre-deploy-hook.sh — the first lines of a bot's deploy script: snapshot the bot's
# database, deploy, and roll the database back if the deploy fails.
#   DB=hello-bot_db ./deploy.sh
set -eu
DB="${DB:?set DB to the bot's database}"
ID=$(pgvault backup --db "$DB" --tag pre-deploy --lock-timeout 10m)
echo "pre-deploy snapshot: $ID"
if ! ./deploy-steps.sh; then
	echo "deploy failed: restoring $DB from $ID" >&2
	pgvault restore "$ID" --replace --terminate-connections
	exit 1
fi
