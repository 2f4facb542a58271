#!/bin/bash
# rigshift lab stand-in: shared settings the HiveOS client scripts read.
RIG_CONF=/hive-config/rig.conf
WALLET_CONF=/hive-config/wallet.conf
MINER_LOG_DIR=/var/log/miner
[[ -f $RIG_CONF ]] && source "$RIG_CONF"
[[ -f $WALLET_CONF ]] && source "$WALLET_CONF"
