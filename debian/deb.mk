# The Debian packages, built by debian/rules (dpkg-buildpackage) from a copy
# of the source tree so that the working tree stays clean.
#
#   make deb    $(BUILD)/deb/*.deb: libhakmem0, libhakmem-dev, hakmem-dkms
#               (the debug symbols in $(BUILD)/deb/dbgsym/, out of the way of
#               `apt-get install ./build/deb/*.deb`), checked by lintian when
#               it is installed (errors fail)
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
	mkdir -p $(DEB_SRC) $(DEB_OUT)/dbgsym
	tar -cf - --exclude-vcs --exclude=./$(BUILD) . | tar -xf - -C $(DEB_SRC)
	cd $(DEB_SRC) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		dpkg-buildpackage -b -us -uc
	@if command -v lintian >/dev/null; then \
		echo "lintian $(dir $(DEB_SRC))*.changes"; \
		lintian --fail-on error $(dir $(DEB_SRC))*.changes; \
	fi
	mv $(addprefix $(dir $(DEB_SRC)),*.changes *.buildinfo) $(DEB_OUT)/
	mv $(dir $(DEB_SRC))*-dbgsym_*.deb $(DEB_OUT)/dbgsym/
	mv $(dir $(DEB_SRC))*.deb $(DEB_OUT)/
	@ls $(DEB_OUT)/*.deb
