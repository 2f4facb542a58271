#!/bin/bash
# rigshift lab stand-in for the OpenDev USB watchdog tool HiveOS ships; no USB device in the lab.
echo "watchdog-opendev: no watchdog device found" >&2
exit 1
