# Test stand-in for OpenWRT's rules.mk: only what the warden Makefile uses.
INCLUDE_DIR:=$(TOPDIR)/include
empty:=
space:=$(empty) $(empty)
comma:=,
INSTALL_BIN:=install -m0755
INSTALL_DIR:=install -d -m0755
INSTALL_DATA:=install -m0644
INSTALL_CONF:=install -m0600
