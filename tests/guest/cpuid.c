// SPDX-License-Identifier: BSD-2-Clause
/*
 * cpuid: what the guest sees through CPUID is sane and consistent.
 *
 * Maximum leaves, vendor, family/model, the feature bits every x86-64 CPU
 * has, agreement between repeated calls, between leaves that report the
 * same thing (APIC id, NX and EFER.NXE, LM and EFER.LME) and subleaf
 * handling of leaves 4, 7 and 0xB.  Under umbra (hypervisor bit and the
 * "UMBRA-X86-HV" signature) also: no nested SVM or VMX is offered, and the
 * hypervisor leaves go at least to 0x40000001.
 */
#include "guest.h"
#include "x86.h"

const char test_name[] = "cpuid";

static struct cpuid_regs leaf(uint32_t l, uint32_t s)
{
	struct cpuid_regs r;

	cpuid_count(l, s, &r);
	return r;
}

static int regs_equal(const struct cpuid_regs *a, const struct cpuid_regs *b)
{
	return a->eax == b->eax && a->ebx == b->ebx && a->ecx == b->ecx &&
	       a->edx == b->edx;
}

static int printable(const char *s, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return 0;
	return 1;
}

struct feature {
	int bit;
	const char *name;
};

static void check_features(const char *name, uint32_t reg,
			   const struct feature *f, int n)
{
	char missing[160] = "";
	size_t len = 0;
	int i;

	for (i = 0; i < n; i++)
		if (!(reg & (1u << f[i].bit)) && len < sizeof(missing))
			len += snprintf(missing + len, sizeof(missing) - len,
					" %s", f[i].name);
	check(len == 0, name, "register %#x, missing:%s", reg, missing);
}

/* Can @bit of EFER be set and cleared again?  (Paging is off.) */
static int efer_bit_settable(uint64_t bit)
{
	uint64_t old = rdmsr(MSR_EFER), on, off;

	wrmsr(MSR_EFER, old | bit);
	on = rdmsr(MSR_EFER);
	wrmsr(MSR_EFER, old & ~bit);
	off = rdmsr(MSR_EFER);
	wrmsr(MSR_EFER, old);
	return (on & bit) && !(off & bit);
}

static uint32_t max_basic, max_ext;

static void check_identity(void)
{
	struct cpuid_regs r = leaf(0, 0);
	char vendor[13], brand[49];
	uint32_t fam, model, step;

	max_basic = r.eax;
	memcpy(vendor + 0, &r.ebx, 4);
	memcpy(vendor + 4, &r.edx, 4);
	memcpy(vendor + 8, &r.ecx, 4);
	vendor[12] = 0;
	info("max basic leaf %#x, vendor \"%s\"", max_basic, vendor);
	check(max_basic >= 1 && max_basic < 0x100, "max basic leaf sane",
	      "%#x", max_basic);
	check(printable(vendor, 12), "vendor string printable", "\"%s\"",
	      vendor);

	r = leaf(0x80000000, 0);
	max_ext = r.eax;
	info("max extended leaf %#x", max_ext);
	check(max_ext >= 0x80000008 && max_ext < 0x80000100,
	      "max extended leaf sane (>= 0x80000008)", "%#x", max_ext);

	r = leaf(1, 0);
	fam = (r.eax >> 8) & 0xf;
	model = (r.eax >> 4) & 0xf;
	step = r.eax & 0xf;
	if (fam == 0xf)
		fam += (r.eax >> 20) & 0xff;
	if (fam == 0xf || fam == 6 || fam > 0xf)
		model |= ((r.eax >> 16) & 0xf) << 4;
	info("family %#x model %#x stepping %u (signature %#x)", fam, model,
	     step, r.eax);
	check(fam >= 6, "family is 6 or later", "family %#x", fam);

	if (max_ext >= 0x80000004) {
		int i;

		for (i = 0; i < 3; i++) {
			r = leaf(0x80000002 + i, 0);
			memcpy(brand + 16 * i + 0, &r.eax, 4);
			memcpy(brand + 16 * i + 4, &r.ebx, 4);
			memcpy(brand + 16 * i + 8, &r.ecx, 4);
			memcpy(brand + 16 * i + 12, &r.edx, 4);
		}
		brand[48] = 0;
		info("brand \"%s\"", brand);
		check(printable(brand, (int)strlen(brand)),
		      "brand string printable", "\"%s\"", brand);
	}
	if (max_ext >= 0x80000008) {
		uint32_t pa, va;

		r = leaf(0x80000008, 0);
		pa = r.eax & 0xff;
		va = (r.eax >> 8) & 0xff;
		info("physical address bits %u, linear %u", pa, va);
		check(pa >= 32 && pa <= 52 && (va == 48 || va == 57),
		      "address sizes sane", "physical %u linear %u", pa, va);
	}
}

static void check_feature_bits(void)
{
	static const struct feature edx1[] = {
		{ 0, "fpu" }, { 3, "pse" }, { 4, "tsc" }, { 5, "msr" },
		{ 6, "pae" }, { 8, "cx8" }, { 9, "apic" }, { 13, "pge" },
		{ 15, "cmov" }, { 23, "mmx" }, { 24, "fxsr" }, { 25, "sse" },
		{ 26, "sse2" },
	};
	static const struct feature edx81[] = {
		{ 29, "lm" },
	};
	struct cpuid_regs r1 = leaf(1, 0), r81 = leaf(0x80000001, 0);

	info("leaf 1: ecx %#x edx %#x; leaf 0x80000001: ecx %#x edx %#x",
	     r1.ecx, r1.edx, r81.ecx, r81.edx);
	check_features("leaf 1 edx has the x86-64 baseline", r1.edx, edx1,
		       ARRAY_SIZE(edx1));
	check_features("leaf 0x80000001 edx has long mode", r81.edx, edx81,
		       ARRAY_SIZE(edx81));
	check(efer_bit_settable(EFER_LME), "efer.lme settable (lm reported)",
	      "EFER %#llx", rdmsr(MSR_EFER));
	if (r81.edx & (1u << 20))
		check(efer_bit_settable(EFER_NXE),
		      "efer.nxe settable (nx reported)", "EFER %#llx",
		      rdmsr(MSR_EFER));
	else
		skip("efer.nxe settable (nx reported)", "nx not reported");
}

/* Every leaf gives the same answer twice, and leaves without subleaves
 * ignore ECX. */
static void check_repeatable(void)
{
	static const uint32_t no_subleaf[] = { 0, 1, 0x80000000, 0x80000001,
					       0x80000008 };
	uint32_t l, bad = 0, n = 0;
	unsigned int i;

	for (l = 0; l <= max_basic; l++, n++) {
		struct cpuid_regs a = leaf(l, 0), b = leaf(l, 0);

		if (!regs_equal(&a, &b) && !bad)
			bad = l | 0x100000;
	}
	for (l = 0x80000000; l <= max_ext; l++, n++) {
		struct cpuid_regs a = leaf(l, 0), b = leaf(l, 0);

		if (!regs_equal(&a, &b) && !bad)
			bad = l;
	}
	check(!bad, "repeated calls agree", "%u leaves, first differing %#x",
	      n, bad & ~0x100000u);

	bad = 0;
	for (i = 0; i < ARRAY_SIZE(no_subleaf); i++) {
		struct cpuid_regs a = leaf(no_subleaf[i], 0);
		struct cpuid_regs b = leaf(no_subleaf[i], 0x55);

		if (!regs_equal(&a, &b)) {
			bad = no_subleaf[i] | 0x100000;
			break;
		}
	}
	check(!bad, "leaves without subleaves ignore ecx",
	      "leaf %#x differs", bad & ~0x100000u);
}

static void check_subleaves(void)
{
	struct cpuid_regs r, z;
	uint32_t s;

	if (max_basic >= 4) {
		int ok = 1, n = 0;
		struct cpuid_regs first = leaf(4, 0);

		for (s = 0; s < 32; s++) {
			r = leaf(4, s);
			if ((r.eax & 0x1f) == 0)
				break;
			n++;
			if (((r.eax >> 5) & 7) < 1 || ((r.eax >> 5) & 7) > 4)
				ok = 0;
			if (s > 0 && regs_equal(&r, &first))
				ok = 0;
		}
		info("leaf 4: %d cache descriptors", n);
		check(ok && s < 32, "leaf 4 subleaves (caches) well formed",
		      "%d descriptors, terminated %s", n, s < 32 ? "yes" : "no");
	} else {
		skip("leaf 4 subleaves (caches) well formed", "max leaf < 4");
	}

	if (max_basic >= 7) {
		uint32_t maxsub = leaf(7, 0).eax;

		r = leaf(7, maxsub + 1);
		info("leaf 7: max subleaf %u, ebx %#x ecx %#x edx %#x", maxsub,
		     leaf(7, 0).ebx, leaf(7, 0).ecx, leaf(7, 0).edx);
		check(maxsub < 16 && !r.eax && !r.ebx && !r.ecx && !r.edx,
		      "leaf 7 subleaf past the last is zero",
		      "max %u, subleaf %u: %#x %#x %#x %#x", maxsub, maxsub + 1,
		      r.eax, r.ebx, r.ecx, r.edx);
	} else {
		skip("leaf 7 subleaf past the last is zero", "max leaf < 7");
	}

	/* SDM Vol 2 CPUID leaf 0Bh: the leaf exists only if EBX[15:0] != 0 */
	z = max_basic >= 0xb && leaf(0xb, 0).ebx ? leaf(0xb, 0) : (struct cpuid_regs){ 0 };
	if (z.ebx && !((z.ecx >> 8) & 0xff)) {
		/* Bochs 2.7 reports EBX but level type 0 at subleaf 0 */
		skip("leaf 0xb subleaves well formed",
		     "leaf 0xb has EBX but no level at subleaf 0 (an emulator's incomplete leaf)");
	} else if (z.ebx) {
		int ok = 1;
		uint32_t last_type = 0;

		for (s = 0; s < 8; s++) {
			r = leaf(0xb, s);
			if ((r.ecx & 0xff) != s || r.edx != z.edx)
				ok = 0;
			last_type = (r.ecx >> 8) & 0xff;
			if (!last_type)
				break;
			if (last_type != s + 1 && s < 2)
				ok = 0;
		}
		info("leaf 0xb: %u levels, x2apic id %u", s, z.edx);
		check(ok && s < 8 && s >= 1, "leaf 0xb subleaves well formed",
		      "levels %u, subleaf %u: ecx %#x edx %#x", s, s, r.ecx,
		      r.edx);
	} else {
		skip("leaf 0xb subleaves well formed", "no leaf 0xb");
	}
}

static void check_apic_id(void)
{
	struct cpuid_regs r1 = leaf(1, 0);
	uint32_t id = r1.ebx >> 24;
	uint64_t base;

	if (max_basic >= 0xb && leaf(0xb, 0).ebx) {
		uint32_t x2 = leaf(0xb, 0).edx;

		check((x2 & 0xff) == id, "apic id: leaf 1 agrees with leaf 0xb",
		      "leaf 1 %u, leaf 0xb %u", id, x2);
	} else {
		skip("apic id: leaf 1 agrees with leaf 0xb", "no leaf 0xb");
	}
	if (!(r1.edx & (1u << 9))) {
		skip("apic id: leaf 1 agrees with the local apic", "no apic");
		return;
	}
	base = rdmsr(MSR_APIC_BASE);
	if (!(base & (1u << 11)) || (base & (1u << 10)) ||
	    (base & ~0xfffull) >= 0x100000000ull) {
		skip("apic id: leaf 1 agrees with the local apic",
		     "apic disabled, in x2apic mode or above 4 GiB");
		return;
	}
	{
		volatile uint32_t *reg = (volatile uint32_t *)
			((uint32_t)(base & ~0xfffull) + 0x20);
		uint32_t mmio = *reg >> 24;

		check(mmio == id, "apic id: leaf 1 agrees with the local apic",
		      "leaf 1 %u, APIC ID register %u (base %#llx)", id, mmio,
		      base);
	}
}

static void check_hypervisor(void)
{
	struct cpuid_regs r1 = leaf(1, 0), r81 = leaf(0x80000001, 0), h;
	int hv = !!(r1.ecx & (1u << 31));
	char sig[13] = "";

	if (hv) {
		h = leaf(0x40000000, 0);
		memcpy(sig + 0, &h.ebx, 4);
		memcpy(sig + 4, &h.ecx, 4);
		memcpy(sig + 8, &h.edx, 4);
		sig[12] = 0;
		if (!printable(sig, (int)strlen(sig)))
			sig[0] = 0;
		info("hypervisor bit set, leaf 0x40000000: eax %#x \"%s\"",
		     h.eax, sig);
	} else {
		info("hypervisor bit clear");
	}

	if (!under_umbra()) {
		static const char *const names[] = {
			"umbra: no nested svm offered",
			"umbra: no vmx offered",
			"umbra: hypervisor leaves reach 0x40000001",
		};
		char why[64];
		unsigned int i;

		/* QEMU's TCG sets the bit itself, with "TCGTCGTCGTCG"
		 * (and KVM with "KVMKVMKVM"); nothing else may. */
		if (hv && (!strcmp(sig, "TCGTCGTCGTCG") ||
			   !strcmp(sig, "KVMKVMKVM"))) {
			snprintf(why, sizeof(why), "no hypervisor (emulator "
				 "signature \"%s\")", sig);
			skip("bare: hypervisor bit clear", why);
		} else {
			strlcpy(why, "no hypervisor", sizeof(why));
			check(!hv, "bare: hypervisor bit clear", "set, "
			      "signature \"%s\"", sig);
		}
		for (i = 0; i < ARRAY_SIZE(names); i++)
			skip(names[i], why);
		return;
	}
	check(!(r81.ecx & (1u << 2)), "umbra: no nested svm offered",
	      "cpuid 0x80000001 ecx %#x", r81.ecx);
	check(!(r1.ecx & (1u << 5)), "umbra: no vmx offered",
	      "cpuid 1 ecx %#x", r1.ecx);
	h = leaf(0x40000000, 0);
	check(h.eax >= 0x40000001, "umbra: hypervisor leaves reach 0x40000001",
	      "eax %#x", h.eax);
}

/*
 * CPUID.1:ECX.OSXSAVE reflects the CR4.OSXSAVE of whoever runs CPUID: the
 * guest's, not the hypervisor's (glibc runs XGETBV when it is set).
 */
static void check_osxsave(void)
{
	const uint32_t xsave = 1u << 26, osxsave = 1u << 27;
	const uint32_t cr4_osxsave = 1u << 18;
	uint32_t cr4 = read_cr4();
	struct cpuid_regs r;

	r = leaf(1, 0);
	check(!(r.ecx & osxsave) == !(cr4 & cr4_osxsave),
	      "osxsave follows the guest's cr4.osxsave (clear)",
	      "cr4 %#x, cpuid 1 ecx %#x", cr4, r.ecx);
	if (!(r.ecx & xsave)) {
		skip("osxsave follows the guest's cr4.osxsave (set)",
		     "no xsave (cpuid 1 ecx bit 26)");
		return;
	}
	write_cr4(cr4 | cr4_osxsave);
	r = leaf(1, 0);
	write_cr4(cr4);
	check(r.ecx & osxsave, "osxsave follows the guest's cr4.osxsave (set)",
	      "cpuid 1 ecx %#x with cr4.osxsave set", r.ecx);
	r = leaf(1, 0);
	check(!(r.ecx & osxsave), "osxsave clear again with cr4.osxsave clear",
	      "cpuid 1 ecx %#x", r.ecx);
}

void test_main(void)
{
	check_osxsave();
	check_identity();
	check_feature_bits();
	check_repeatable();
	check_subleaves();
	check_apic_id();
	check_hypervisor();
}
