# Test stand-in for the packages feed's lang/rust/rust-package.mk.
RUST_ARCH_DEPENDS:=@(aarch64||arm||i386||i686||mips||mipsel||mips64||mips64el||mipsel||powerpc64||riscv64||x86_64)
RUST_PKG_LOCKED ?= 1
define RustBinPackage
  ifndef Package/$(1)/install
    define Package/$(1)/install
	$$(INSTALL_DIR) $$(1)/usr/bin/
	$$(INSTALL_BIN) $$(PKG_INSTALL_DIR)/bin/* $$(1)/usr/bin/
    endef
  endif
endef
# Build/Compile/Cargo as the real one builds the command (not run here):
# $(2) is the package's additional cargo arguments.
define Build/Compile/Cargo
cargo install --profile $(CARGO_PKG_PROFILE) $(if $(strip $(RUST_PKG_FEATURES)),--features "$(strip $(RUST_PKG_FEATURES))") --root $(PKG_INSTALL_DIR) --path "$(PKG_BUILD_DIR)/$(if $(strip $(1)),$(strip $(1)),$(strip $(MAKE_PATH)))" $(if $(filter 1,$(RUST_PKG_LOCKED)),--locked) $(2)
endef
Build/Compile=$(call Build/Compile/Cargo)
