# SPDX-License-Identifier: GPL-2.0
#
# Filter a kernel log before it is scanned for problems: drop the reports
# of the OOM kills that tests cause on purpose.  Those are memory cgroup OOM
# kills: the VM has no memory limits but the ones tests set on cgroups of
# their own.  An OOM report dumps a stack ("Call Trace"); everything else,
# a system-wide OOM report included, passes through unchanged.  Used by
# qemu/init.sh (busybox awk) and qemu/run-vm.sh.

function flush() {
	if (!expected)
		for (i = 0; i < held; i++)
			print buf[i]
	held = 0
	expected = 0
}

/invoked oom-killer:/ {
	flush()
	reporting = 1
}

reporting {
	buf[held++] = $0
	if ($0 ~ /Killed process/) {
		expected = $0 ~ /Memory cgroup out of memory: Killed process/
		flush()
		reporting = 0
	}
	next
}

{ print }

END { flush() }
