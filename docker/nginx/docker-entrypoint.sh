#!/bin/sh
# The official nginx image's start-up step that docker-compose.yml relies on (its
# 20-envsubst-on-templates.sh): every /etc/nginx/templates/**/*.template becomes the same path
# under /etc/nginx/conf.d without the suffix, and only variables whose names match
# NGINX_ENVSUBST_FILTER are substituted, so nginx's own $variables survive.
set -eu

templates="${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}"
suffix="${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}"
output="${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}"
filter="${NGINX_ENVSUBST_FILTER:-}"

if [ "${1:-}" = nginx ] && [ -d "$templates" ]; then
  # '${NAME} ' for each matching variable: envsubst replaces only the ones it is given.
  defined=$(printf '${%s} ' $(awk "END { for (name in ENVIRON) { print (name ~ /${filter}/) ? name : \"\" } }" </dev/null))
  find "$templates" -follow -type f -name "*$suffix" -print | while read -r template; do
    relative="${template#"$templates/"}"
    target="$output/${relative%"$suffix"}"
    mkdir -p "$(dirname "$target")"
    envsubst "$defined" <"$template" >"$target"
    echo "$0: rendered $template to $target"
  done
fi

exec "$@"
