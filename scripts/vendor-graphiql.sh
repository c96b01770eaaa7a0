#!/usr/bin/env bash
# Copy GraphiQL's browser bundle and the React builds it runs on into api/static/graphiql/.
#
# The server serves these files itself, so the GraphiQL page works without network access.
# To move to other releases, change the versions below, run this script from any directory,
# then open /graphql with `make serve` and run the browser test.
set -euo pipefail

GRAPHIQL_VERSION=3.8.3
# GraphiQL 3 runs on the UMD builds of React 18; React 19 ships no UMD builds.
REACT_VERSION=18.3.1

cd "$(dirname "$0")/.."
target=api/static/graphiql
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(
  cd "$work"
  npm pack --silent "graphiql@$GRAPHIQL_VERSION" "react@$REACT_VERSION" "react-dom@$REACT_VERSION" >/dev/null
)
for package in "graphiql-$GRAPHIQL_VERSION" "react-$REACT_VERSION" "react-dom-$REACT_VERSION"; do
  mkdir "$work/$package"
  tar -xzf "$work/$package.tgz" -C "$work/$package" --strip-components=1
done

mkdir -p "$target"
cp "$work/graphiql-$GRAPHIQL_VERSION/graphiql.min.js" "$target/"
cp "$work/graphiql-$GRAPHIQL_VERSION/graphiql.min.css" "$target/"
cp "$work/graphiql-$GRAPHIQL_VERSION/LICENSE" "$target/LICENSE.graphiql"
cp "$work/react-$REACT_VERSION/umd/react.production.min.js" "$target/"
cp "$work/react-$REACT_VERSION/LICENSE" "$target/LICENSE.react"
cp "$work/react-dom-$REACT_VERSION/umd/react-dom.production.min.js" "$target/"
cp "$work/react-dom-$REACT_VERSION/LICENSE" "$target/LICENSE.react-dom"

cat >"$target/README.md" <<README
# GraphiQL assets

Served at \`/static/graphiql/\` for the GraphiQL page at \`GET /graphql\` outside production:

- \`graphiql.min.js\` and \`graphiql.min.css\` from the npm package graphiql $GRAPHIQL_VERSION
  (licence: LICENSE.graphiql);
- \`react.production.min.js\` from react $REACT_VERSION (LICENSE.react);
- \`react-dom.production.min.js\` from react-dom $REACT_VERSION (LICENSE.react-dom).

The files are copied unchanged. \`graphiql.min.js\` also contains the packages GraphiQL is built
from (graphql-js, CodeMirror 5, markdown-it, Radix UI and others), bundled by the graphiql
release; their licences are those of their own npm releases.

Written by \`scripts/vendor-graphiql.sh\`: change the versions there and run it to refresh
these files; do not edit them by hand.
README
echo "Copied graphiql $GRAPHIQL_VERSION and react, react-dom $REACT_VERSION into $target."
