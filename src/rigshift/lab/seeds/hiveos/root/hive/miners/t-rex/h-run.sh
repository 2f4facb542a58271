#!/bin/bash
# Starts the miner the way HiveOS miner packages do: cd into the miner dir, exec the binary.
cd "$(dirname "$0")" || exit 1
source h-manifest.conf
exec ./t-rex --config /hive/miners/t-rex/config.json >> "$MINER_LOG_BASENAME.log" 2>&1
