#!/bin/sh
# Links React and its types from Debian's packages (node-react, node-react-dom, node-react-test-renderer)
# into node_modules/, where the compiler and the tests look for them: the npm registry is not needed.
# Run the tests with NODE_PATH=/usr/share/nodejs so that Debian's packages find each other.
set -eu
cd "$(dirname "$0")/.."
source=/usr/share/nodejs
mkdir -p node_modules/@types
for package in react react-dom react-test-renderer; do
    [ -d "$source/$package" ] || { echo "missing $source/$package (apt-get install node-$package)" >&2; exit 1; }
    ln -sfn "$source/$package" "node_modules/$package"
done
ln -sfn "$source/@types/react" node_modules/@types/react
