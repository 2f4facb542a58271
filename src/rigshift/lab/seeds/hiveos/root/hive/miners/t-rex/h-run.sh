#!/bin/bash
# Starts the miner the way HiveOS miner packages do: cd into the miner dir, exec the binary.
cd "$(dirname "$0")" || exit 1
source h-manifest.conf
# rigshift lab: a fake API key on the command line, as real flight sheets put pool passwords
# and keys there; no output or record of a converge may show it.
exec ./t-rex --config /hive/miners/t-rex/config.json --api-key LabFakePoolPass-7Qx2Zp \
  >> "$MINER_LOG_BASENAME.log" 2>&1
