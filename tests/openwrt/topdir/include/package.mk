# Test stand-in for OpenWRT's include/package.mk. BuildPackage gives the
# targets `dump` (the package's metadata, one NAME=value a line; with
# CONFFILES_OUT=file, also the conffiles text as OpenWRT writes it; with
# POSTINST_OUT=file, the Package/<name>/postinst text, as package-pack.mk
# writes it to postinst-pkg),
# `install` (runs Package/<name>/install into $(DESTDIR)) and `prepare`
# (runs the package's Build/Prepare), for one package of the Makefile:
# PACKAGE (default PKG_NAME). As the buildroot, which builds one variant
# at a time, the caller sets BUILD_VARIANT to that package's VARIANT.
PKG_BUILD_DIR ?= $(TOPDIR)/build/$(PKG_NAME)-$(PKG_VERSION)
PKG_INSTALL_DIR ?= $(PKG_BUILD_DIR)/ipkg-install

define BuildPackage
$(if $(filter $(1),$(or $(PACKAGE),$(PKG_NAME))),$(eval $(call BuildPackage/One,$(1))))
endef

define BuildPackage/One
$(eval $(Package/$(1)))
.PHONY: dump install prepare
dump:
	@echo 'NAME=$(1)'
	@echo 'TITLE=$(TITLE)'
	@echo 'VARIANT=$(VARIANT)'
	@echo 'PROVIDES=$(PROVIDES)'
	@echo 'CONFLICTS=$(CONFLICTS)'
	@echo 'COMPILE=$(strip $(Build/Compile))'
	@echo 'VERSION=$(PKG_VERSION)-r$(PKG_RELEASE)'
	@echo 'LICENSE=$(PKG_LICENSE)'
	@echo 'SECTION=$(SECTION)'
	@echo 'CATEGORY=$(CATEGORY)'
	@echo 'DEPENDS=$(strip $(DEPENDS))'
	@echo 'BUILD_DEPENDS=$(PKG_BUILD_DEPENDS)'
	@echo 'SOURCE_PROTO=$(PKG_SOURCE_PROTO)'
	@echo 'SOURCE=$(PKG_SOURCE)'
	@echo 'SOURCE_URL=$(PKG_SOURCE_URL)'
	@echo 'CONFFILES=$(strip $(call Package/$(1)/conffiles))'
	$(if $(CONFFILES_OUT),$(file >$(CONFFILES_OUT),$(call Package/$(1)/conffiles)))
	$(if $(POSTINST_OUT),$(file >$(POSTINST_OUT),$(Package/$(1)/postinst)))
	@echo 'RUST_PKG_LOCKED=$(RUST_PKG_LOCKED)'
	@echo 'HAS_BUILD_PREPARE=$(if $(value Build/Prepare),1,0)'
install:
	$(call Package/$(1)/install,$(DESTDIR))
prepare:
	$(Build/Prepare)
endef
