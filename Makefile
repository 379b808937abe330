# SPDX-License-Identifier: GPL-2.0
# Out-of-tree build of mint.ko.
#
#   make                 build mint.ko against the project's cached kernel build
#   make KDIR=/path      build against another configured and built 6.12 tree
#   make clean
#
# `cargo xtask setup` creates the cached kernel build and points
# $(MINT_CACHE)/kernel/current at it. The module must be compiled by the same
# rustc as the kernel (Debian's /usr/bin/rustc), not by the rustup toolchain
# that usually comes first on PATH, hence the explicit tool variables.

MINT_CACHE ?= $(if $(XDG_CACHE_HOME),$(XDG_CACHE_HOME),$(HOME)/.cache)/mint
KDIR ?= $(MINT_CACHE)/kernel/current
MINT_RUSTC ?= /usr/bin/rustc
MINT_RUSTDOC ?= /usr/bin/rustdoc
MINT_BINDGEN ?= $(MINT_CACHE)/bindgen-0.69.5/bin/bindgen

KMAKE = $(MAKE) -C $(KDIR) M=$(CURDIR) \
	RUSTC=$(MINT_RUSTC) RUSTDOC=$(MINT_RUSTDOC) HOSTRUSTC=$(MINT_RUSTC) \
	BINDGEN=$(MINT_BINDGEN)

all: modules

modules:
	@test -f $(KDIR)/Module.symvers || { \
		echo "mint: no built kernel at $(KDIR); run 'cargo xtask setup' or pass KDIR=" >&2; \
		exit 1; }
	$(KMAKE) modules

clean:
	$(KMAKE) clean

.PHONY: all modules clean
