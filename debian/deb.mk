# The Debian packages, built by debian/rules (dpkg-buildpackage) from a copy
# of the source tree so that the working tree stays clean.
#
#   make deb    $(BUILD)/deb/*.deb: libhakmem0, libhakmem-dev, hakmem-dkms;
#               then lintian over them when it is installed (errors fail)
#
# The build dependencies come from scripts/install-deps.sh deb.

# The version in the changelog's first line, "hakmem (VERSION) …".
DEB_VERSION := $(shell sed -n '1s/^[^ ]* .//; 1s/. .*//p' debian/changelog)
DEB_UPSTREAM := $(DEB_VERSION:%-$(lastword $(subst -, ,$(DEB_VERSION)))=%)
DEB_OUT := $(BUILD)/deb
DEB_SRC := $(BUILD)/deb-src/hakmem-$(DEB_UPSTREAM)

.PHONY: deb

# dpkg-buildpackage runs debian/rules, a make of its own: clearing MAKEFLAGS
# keeps this make's variables (BUILD=…) out of the package build.
deb:
	@[ "$(DEB_UPSTREAM)" = "$(HK_VERSION)" ] && [ "$(DEB_UPSTREAM)" = "$(KM_VERSION)" ] || \
		{ echo "deb: debian/changelog says $(DEB_UPSTREAM), hakmem.h $(HK_VERSION)," \
			"kmod/dkms.conf $(KM_VERSION)" >&2; exit 1; }
	rm -rf $(dir $(DEB_SRC)) $(DEB_OUT)
	mkdir -p $(DEB_SRC) $(DEB_OUT)
	tar -cf - --exclude-vcs --exclude=./$(BUILD) . | tar -xf - -C $(DEB_SRC)
	cd $(DEB_SRC) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		dpkg-buildpackage -b -us -uc
	mv $(addprefix $(dir $(DEB_SRC)),*.deb *.changes *.buildinfo) $(DEB_OUT)/
	@if command -v lintian >/dev/null; then \
		echo "lintian $(DEB_OUT)/*.changes"; \
		lintian --fail-on error $(DEB_OUT)/*.changes; \
	fi
	@ls $(DEB_OUT)/*.deb
