"""Zabbix as code for the JMMC platform (see monitoring/README and `zbxsync --help`)."""
