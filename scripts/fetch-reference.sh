#!/usr/bin/env bash
# Downloads CNN Explainer's trained TinyVGG -- its TF.js model.json and the weight shard beside it --
# plus its licence, from a pinned commit of https://github.com/poloclub/cnn-explainer, and checks every
# file's sha256. The GitHub Pages workflow runs it and passes model.json to the build as the plugin
# option reference_weights (mkdocs.yml reads $TINYVGG_REFERENCE_WEIGHTS), so that the Model page
# compares both models on the same test images. The files are only read by the build; they are
# never copied into the site.
#
# CNN Explainer: Copyright (c) 2020 Polo Club of Data Science, MIT licence (the LICENSE file
# fetched here). Wang et al., "CNN Explainer", IEEE VIS 2020.
#
# Usage: scripts/fetch-reference.sh [DIR]   (default .cache/reference/cnn-explainer)
# Prints the path of model.json. Files already in DIR with the right sha256 are not fetched again.
# CNN_EXPLAINER_BASE overrides where the files come from (a mirror, or file:// for tests).
set -euo pipefail

COMMIT=d0971f9447ed9806022a3d47587b62394682bc51
BASE=${CNN_EXPLAINER_BASE:-https://raw.githubusercontent.com/poloclub/cnn-explainer/$COMMIT}
DEST=${1:-.cache/reference/cnn-explainer}

# sha256, path in the repository at COMMIT (each saved under its own file name in DEST)
FILES=(
  "85706d2d99841eb6270ddbf912bcf43c4d1bf76bc68a0a56af49561a69589627 public/assets/data/model.json"
  "306666f2a1cc2a0a8f7b3422617daac5ecdca20c707ab44b721522be1fe3f630 public/assets/data/group1-shard1of1.bin"
  "0951ebd5bda4f3a0f37f78a4770466301a9c8205b693d20e7b412ff2c13256cb LICENSE"
)

sha() { sha256sum "$1" | cut -d' ' -f1; }

mkdir -p "$DEST"
for entry in "${FILES[@]}"; do
  want=${entry%% *}
  path=${entry#* }
  file="$DEST/${path##*/}"
  if [ -f "$file" ] && [ "$(sha "$file")" = "$want" ]; then
    continue
  fi
  rm -f "$file"  # absent or not the pinned file: never leave a stale copy for the build to read
  if ! curl --fail --silent --show-error --location --retry 3 --output "$file.part" "$BASE/$path"; then
    rm -f "$file.part"
    echo "fetch-reference: could not download $BASE/$path" >&2
    exit 1
  fi
  got=$(sha "$file.part")
  if [ "$got" != "$want" ]; then
    rm -f "$file.part"
    echo "fetch-reference: sha256 mismatch for $path (cnn-explainer@$COMMIT):" >&2
    echo "  expected $want" >&2
    echo "  got      $got" >&2
    echo "The file is not the one this script pins; it was not saved." >&2
    exit 1
  fi
  mv "$file.part" "$file"
done
echo "$DEST/model.json"
