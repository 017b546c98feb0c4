#!/usr/bin/env bash
# Installs code-server (whose extension host is VS Code's own) once into ~/.cache, for the
# extension's tests on machines without a desktop VS Code. Prints the code-server binary's path.
set -euo pipefail
VERSION=4.100.3 # the newest release whose install accepts Node 20 (VS Code 1.100)
DIR="${LT_CODE_SERVER_CACHE:-$HOME/.cache/loadtest-code-server}/$VERSION"
BIN="$DIR/node_modules/.bin/code-server"
if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi

# @vscode/ripgrep downloads rg from GitHub unless its cache already holds one: give it Debian's.
command -v rg >/dev/null 2>&1 || { echo "install ripgrep first (apt-get install ripgrep)" >&2; exit 1; }
CACHE="${TMPDIR:-/tmp}/vscode-ripgrep-cache-1.15.11"
mkdir -p "$CACHE"
tar czf "$CACHE/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C "$(dirname "$(command -v rg)")" rg

mkdir -p "$DIR"
cd "$DIR"
[ -f package.json ] || echo '{"name":"code-server-host","private":true}' > package.json
# node-pty's postinstall runs npx node-gyp (needs yes); as root, 4.100.3 needs --unsafe-perm.
echo "installing code-server $VERSION into $DIR (about a minute, once)..." >&2
npm_config_yes=true npm install --no-audit --no-fund --unsafe-perm "code-server@$VERSION" >&2
echo "$BIN"
