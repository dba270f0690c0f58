#!/bin/sh
# web-assets.sh installs the front-end packages pinned in web/package-lock.json and copies the
# files that the pages use into internal/web/static/ (committed, so that a fresh clone builds
# without npm) and axe.min.js into internal/web/browsertest/ (tests only). It writes
# internal/web/static/VERSIONS; a Go test checks it against web/package.json.
#
# Usage: scripts/web-assets.sh            npm ci, then copy
#        WEB_ASSETS_NO_CI=1 scripts/web-assets.sh   copy from the existing web/node_modules
#
# The @gouvfr/dsfr package refuses to install until its terms of use (doc/legal/cgu.md in the
# package) are accepted, with a .dsfr.yml file at the repository root or DSFR_ACCEPT_LICENSE=1.
# That is a decision for the project's maintainers; this script does not take it for them.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
web=$root/web
nm=$web/node_modules
out=$root/internal/web/static
testout=$root/internal/web/browsertest

if [ "${WEB_ASSETS_NO_CI:-}" != 1 ]; then
	if ! (cd "$root" && npm ci --prefix web --no-audit --no-fund); then
		cat >&2 <<-'EOF'
		web-assets: npm ci failed. If @gouvfr/dsfr's preinstall refused ([NO_YML], [UPDATE-...]),
		its terms of use must be accepted first: read web/node_modules/@gouvfr/dsfr/doc/legal/cgu.md
		(or https://www.systeme-de-design.gouv.fr), then either write a .dsfr.yml file at the
		repository root holding "accept-license: <the cguVersion of that file>", or run this script
		with DSFR_ACCEPT_LICENSE=1. That decision belongs to the project's maintainers.
		EOF
		exit 1
	fi
fi

dsfr=$nm/@gouvfr/dsfr/dist
htmx=$nm/htmx.org/dist
axe=$nm/axe-core
for f in "$dsfr/dsfr.min.css" "$htmx/htmx.min.js" "$axe/axe.min.js"; do
	[ -f "$f" ] || { echo "web-assets: $f is missing; run npm ci --prefix web" >&2; exit 1; }
done

# Start from a clean copy of the vendored directories; static/carnet/ is ours and stays.
rm -rf "$out/dsfr" "$out/htmx"
mkdir -p "$out/dsfr/fonts" "$out/dsfr/favicon" "$out/htmx"

# DSFR: the one stylesheet and the two scripts (module for current browsers, nomodule for
# old ones). No source maps.
cp "$dsfr/dsfr.min.css" "$dsfr/dsfr.module.min.js" "$dsfr/dsfr.nomodule.min.js" "$out/dsfr/"
cp "$nm/@gouvfr/dsfr/LICENSE.md" "$out/dsfr/LICENSE.md"

# Fonts: every browser that runs the DSFR reads WOFF2, the first source of each @font-face;
# the WOFF fallbacks are not copied.
cp "$dsfr"/fonts/Marianne-*.woff2 "$dsfr"/fonts/Spectral-*.woff2 "$out/dsfr/fonts/"

# Favicons, as the DSFR page templates link them (the manifest names the two PNGs).
for f in favicon.svg favicon.ico apple-touch-icon.png manifest.webmanifest \
	android-chrome-192x192.png android-chrome-512x512.png; do
	cp "$dsfr/favicon/$f" "$out/dsfr/favicon/"
done

# Icons: those that dsfr.min.css itself references (component icons: alerts, buttons, links,
# menus...), except the brand logos of social networks (follow and share components, unused).
# The utility icon stylesheet (every fr-icon-* class) is not copied: add an icon here, with
# the class that uses it to static/carnet/carnet.css, when a page needs one outside the core.
grep -o 'url(icons/[^)]*)' "$dsfr/dsfr.min.css" | sed 's/^url(//; s/)$//' | sort -u |
	grep -v '^icons/logo/' | while read -r icon; do
	mkdir -p "$out/dsfr/$(dirname "$icon")"
	cp "$dsfr/$icon" "$out/dsfr/$icon"
done

# Artwork of the error page.
for f in background/ovoid.svg pictograms/system/technical-error.svg; do
	mkdir -p "$out/dsfr/artwork/$(dirname "$f")"
	cp "$dsfr/artwork/$f" "$out/dsfr/artwork/$f"
done

cp "$htmx/htmx.min.js" "$out/htmx/"
cp "$nm/htmx.org/LICENSE" "$out/htmx/LICENSE"

# axe-core runs only in the browser tests; it is not served.
cp "$axe/axe.min.js" "$testout/axe.min.js"

version() { node -p "require('$nm/$1/package.json').version"; }
{
	echo "# Written by scripts/web-assets.sh from web/package-lock.json; do not edit."
	echo "@gouvfr/dsfr $(version @gouvfr/dsfr)"
	echo "htmx.org $(version htmx.org)"
	echo "axe-core $(version axe-core)"
} >"$out/VERSIONS"

echo "web-assets: $(du -sh "$out" | cut -f1) in internal/web/static, $(find "$out" -type f | wc -l) files"
