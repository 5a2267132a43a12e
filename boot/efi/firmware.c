// SPDX-License-Identifier: BSD-2-Clause
/*
 * guest=firmware (docs/efi.md): umbra takes the CPU over in place while
 * boot services still run, and the firmware goes on as its guest.
 *
 * Before the take-over: umbra's main range and its low pool are allocated
 * as EfiReservedMemoryType (7.2.1; Table 7-6: never handed out, and an OS
 * keeps reserved memory out of its e820 map), the core is copied to the
 * start of the main range, and boot_info says where both are and where the
 * captured processor state is (takeover.asm).  boot_info.mem[] is the map
 * taken just before those allocations, in which both ranges are still
 * usable; every other usable byte the core could choose instead is listed
 * busy, so that the core's mem_init() takes exactly these two ranges.
 *
 * After it, as the guest: give back what the hand-off used, clear the
 * embedded core, and start the OS loader of another volume (7.4.1
 * LoadImage(), 7.4.2 StartImage()), or return to the boot manager.
 */
#include "arch/x86/cpu/cpu.h"
#include "loader.h"

#define MIB			(1ull << 20)
#define DEFAULT_MEM		(32 * MIB)	/* core/options.c: mem= */
#define LOW_POOL		(128ull << 10)	/* core/mem.c: LOW_POOL_SIZE */
#define MIN_BASE		(16 * MIB)	/* core/mem.c: MIN_UMBRA_BASE */
#define SZ_4G			(4 * SZ_1G)
#define LOW_1M			MIB
#define DEFAULT_BOOT		"\\EFI\\BOOT\\BOOTX64.EFI"

UINT64 fw_takeover(struct bi_cpu_state *st, struct boot_info *bi,
		   UINT64 entry, UINT64 cr3, UINT64 stack_top);
/* takeover.asm's ST_* offsets */
_Static_assert(__builtin_offsetof(struct bi_cpu_state, rip) == 128 &&
	       __builtin_offsetof(struct bi_cpu_state, gdt_base) == 208 &&
	       __builtin_offsetof(struct bi_cpu_state, gdt_limit) == 224 &&
	       __builtin_offsetof(struct bi_cpu_state, sel[7]) == 242,
	       "struct bi_cpu_state as takeover.asm writes it");

static struct bi_cpu_state *state;
static UINT64 umbra_base;
static struct { EFI_PHYSICAL_ADDRESS base; UINTN pages; } reserved[3];
static const char hv_sig[12] = "UMBRA-X86-HV";
static UINTN nr_aps;			/* the firmware's (MP services) */
static EFI_PHYSICAL_ADDRESS tramp;	/* the core's AP trampoline page */

static bool word_is(const char *s, const char *w, const char **rest)
{
	while (*w && *s == *w)
		s++, w++;
	*rest = s;
	return !*w;
}

static char lower_c(char c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* 0 if a equals the lower-case b, ignoring case */
static int str_cmp_ci(const char *a, const char *b)
{
	while (*b && lower_c(*a) == *b)
		a++, b++;
	return lower_c(*a) != *b;
}

/* umbra.cfg "guest = firmware", or the word guest=firmware in umbra's options. */
bool fw_wanted(const struct loader_cfg *cfg, const char *cmdline)
{
	const char *p, *rest;

	for (p = cmdline; *p; p++) {
		if ((p == cmdline || p[-1] == ' ') &&
		    word_is(p, "guest=firmware", &rest) && (!*rest || *rest == ' '))
			return true;
	}
	return cfg->have_guest && !str_cmp_ci(cfg->guest.path, "firmware");
}

/*
 * mem= as core/options.c takes it: decimal N with K, M or G, 8 MiB to
 * 1 GiB, the last valid one.  Should the two ever disagree, the core finds
 * no room (every other byte is busy) and says so; it never takes RAM the
 * firmware uses.
 */
static UINT64 mem_option(const char *cmdline)
{
	const char *p, *rest;
	UINT64 n, mem = DEFAULT_MEM;

	for (p = cmdline; *p; p++) {
		if ((p != cmdline && p[-1] != ' ') || !word_is(p, "mem=", &rest))
			continue;
		for (n = 0; *rest >= '0' && *rest <= '9' && n < (1ull << 40); rest++)
			n = n * 10 + (UINT64)(*rest - '0');
		switch (lower_c(*rest)) {
		case 'g': n <<= 10;	/* fall through */
		case 'm': n <<= 10;	/* fall through */
		case 'k': n <<= 10; rest++;
		}
		if ((!*rest || *rest == ' ') && n >= 8 * MIB && n <= SZ_1G)
			mem = ALIGN_UP(n, SZ_2M);
	}
	return mem;
}

#define DESC(map, i, size) \
	((EFI_MEMORY_DESCRIPTOR *)((UINT8 *)(map) + (i) * (size)))

/* The highest `align` aligned [x, x + size) of free RAM in [MIN_BASE, limit). */
static UINT64 highest_free(void *map, UINTN n, UINTN dsz, UINT64 size,
			   UINT64 align, UINT64 limit)
{
	UINT64 best = 0;
	UINTN i;

	for (i = 0; i < n; i++) {
		EFI_MEMORY_DESCRIPTOR *d = DESC(map, i, dsz);
		UINT64 top = d->PhysicalStart + d->NumberOfPages * EFI_PAGE, c;

		if (d->Type != EfiConventionalMemory)
			continue;
		if (top > limit)
			top = limit;
		if (top < size + MIN_BASE)
			continue;
		c = (top - size) & ~(align - 1);
		if (c >= d->PhysicalStart && c >= MIN_BASE && c > best)
			best = c;
	}
	return best;
}

/*
 * Runtime services memory is RAM the firmware keeps using (7.2, Table
 * 7-6): for the guest=firmware guest it is RAM like ACPI NVS (mapped
 * write-back, its page tables readable by the shadow MMU, its code by
 * umbra's instruction emulator), not the device range memmap_convert()
 * makes of it for a guest umbra loads.  So is, by a heuristic, reserved
 * memory above 1 MiB that can be write-back (7.2.3, EFI_MEMORY_WB): RAM
 * the firmware keeps for itself, such as the loop its MP services move
 * the APs to at ExitBootServices() (code, stacks, page tables), which the
 * APs then run as umbra's guests.  Device ranges are uncached only, or
 * EfiMemoryMappedIO.
 */
static void runtime_as_nvs(void *map, UINTN n, UINTN dsz)
{
	UINTN i;

	for (i = 0; i < n; i++) {
		EFI_MEMORY_DESCRIPTOR *d = DESC(map, i, dsz);

		if (d->Type == EfiRuntimeServicesCode ||
		    d->Type == EfiRuntimeServicesData ||
		    (d->Type == EfiReservedMemoryType && d->PhysicalStart >= LOW_1M &&
		     (d->Attribute & EFI_MEMORY_WB)))
			d->Type = EfiACPIMemoryNVS;
	}
}

static EFI_STATUS reserve(int i, UINT64 base, UINT64 size, const CHAR16 *what)
{
	EFI_PHYSICAL_ADDRESS a = base;
	EFI_STATUS st;

	/* 7.2.1: AllocateAddress of EfiReservedMemoryType */
	st = uefi_call_wrapper(BS->AllocatePages, 4, AllocateAddress,
			       EfiReservedMemoryType, size / EFI_PAGE, &a);
	if (EFI_ERROR(st)) {
		err(L"cannot reserve %s at 0x%lx (%ld KiB): %r\n", what, base,
		    size >> 10, st);
		return st;
	}
	reserved[i].base = base;
	reserved[i].pages = size / EFI_PAGE;
	return st;
}

/* An error before the take-over: the firmware gets umbra's ranges back. */
static void unreserve(void)
{
	UINTN i;

	for (i = 0; i < ARRAY_SIZE(reserved); i++)
		if (reserved[i].pages)
			uefi_call_wrapper(BS->FreePages, 2, reserved[i].base,
					  reserved[i].pages);
}

static void add_busy(struct boot_info *bi, UINT64 base, UINT64 end)
{
	if (end <= base)
		return;
	bi->busy[bi->nr_busy].base = base;
	bi->busy[bi->nr_busy].size = end - base;
	bi->nr_busy++;
}

/*
 * Choose and reserve umbra's two ranges, and fill bi->mem[] from the map
 * taken before.  The low pool lies below the main range and 4 GiB; all
 * else is busy, so that the core (core/mem.c choose_base()) can take only
 * these two.
 */
static EFI_STATUS reserve_umbra(struct handoff *h, UINT64 size, UINT64 *low)
{
	struct boot_info *bi = h->bi;
	UINTN msize = 0, key, dsz, n;
	UINT32 ver;
	EFI_PHYSICAL_ADDRESS buf;
	EFI_STATUS st;
	UINT64 main;

	st = uefi_call_wrapper(BS->GetMemoryMap, 5, &msize, NULL, &key, &dsz, &ver);
	if (st != EFI_BUFFER_TOO_SMALL)
		return EFI_ERROR(st) ? st : EFI_DEVICE_ERROR;
	msize += 16 * dsz;
	st = alloc_pages(DIV_UP(msize, EFI_PAGE), &buf);
	if (!EFI_ERROR(st))
		st = uefi_call_wrapper(BS->GetMemoryMap, 5, &msize,
				       (void *)(UINTN)buf, &key, &dsz, &ver);
	if (EFI_ERROR(st)) {
		err(L"GetMemoryMap() failed: %r\n", st);
		return st;
	}
	n = msize / dsz;
	main = highest_free((void *)(UINTN)buf, n, dsz, size, SZ_2M, ~0ull);
	*low = main ? highest_free((void *)(UINTN)buf, n, dsz, LOW_POOL,
				   LOW_POOL, main < SZ_4G ? main : SZ_4G) : 0;
	if (!main || !*low) {
		err(L"guest=firmware: no room in the firmware's memory map for umbra's %ld MiB (2 MiB aligned, above 16 MiB) and its 128 KiB low pool below 4 GiB\n",
		    size >> 20);
		return EFI_OUT_OF_RESOURCES;
	}
	runtime_as_nvs((void *)(UINTN)buf, n, dsz);
	st = memmap_convert((void *)(UINTN)buf, msize, dsz, bi);
	if (EFI_ERROR(st)) {
		err(L"the memory map does not fit boot_info: %r\n", st);
		return st;
	}
	st = reserve(0, main, size, L"umbra's memory");
	if (!EFI_ERROR(st))
		st = reserve(1, *low, LOW_POOL, L"umbra's low pool");
	if (EFI_ERROR(st))
		return st;
	/* the core's AP trampoline: arch/x86/cpu/smp.c takes the highest
	   free page below 1 MiB (not page 0, the real-mode IVT) */
	tramp = LOW_1M - 1;
	if (nr_aps && !EFI_ERROR(uefi_call_wrapper(BS->AllocatePages, 4,
			AllocateMaxAddress, EfiReservedMemoryType, 1, &tramp))) {
		reserved[2].base = tramp;
		reserved[2].pages = 1;
	}
	if (reserved[2].pages && (!tramp || tramp + EFI_PAGE > *low)) {
		uefi_call_wrapper(BS->FreePages, 2, tramp, 1);
		reserved[2].pages = 0;
	}
	if (!reserved[2].pages)
		tramp = 0;
	add_busy(bi, 0, tramp ? tramp : *low);
	if (tramp)
		add_busy(bi, tramp + EFI_PAGE, *low);
	add_busy(bi, *low + LOW_POOL, main);
	add_busy(bi, main + size, ~0ull);
	h->core_phys = main;
	return EFI_SUCCESS;
}

/*
 * The firmware's APs (PI 1.7 Vol 2 13.4 EFI_MP_SERVICES_PROTOCOL, not in
 * gnu-efi).  Each runs fw_ap_park() (takeover.asm) through StartupThisAP
 * in non-blocking mode (13.4.5: with a WaitEvent, no time-out): it captures
 * its state in a struct bi_fw_ap and spins.  The core INITs them and its
 * vCPUs resume those states, so that each returns to the firmware's MP
 * services as umbra's guest.  All or nothing: if one cannot be parked
 * (disabled, refused, no answer), all are released and stay outside
 * umbra, with a warning; so does the core under shadow paging.
 */
struct mp_cpu_info {		/* 13.4.3 EFI_PROCESSOR_INFORMATION */
	UINT64 apic_id;
	UINT32 status;		/* bit 0 BSP, bit 1 enabled, bit 2 healthy */
	UINT32 location[9];	/* Location, 1.7's ExtendedInformation */
};

struct mp_services {		/* 13.4.1, in its order */
	EFI_STATUS (EFIAPI *count)(struct mp_services *self, UINTN *all,
				   UINTN *enabled);
	EFI_STATUS (EFIAPI *info)(struct mp_services *self, UINTN cpu,
				  struct mp_cpu_info *info);
	void *startup_all_aps;
	EFI_STATUS (EFIAPI *startup_this_ap)(struct mp_services *self,
					     void (EFIAPI *proc)(void *arg),
					     UINTN cpu, EFI_EVENT wait,
					     UINTN timeout_us, void *arg,
					     BOOLEAN *finished);
};

#define MP_CPU_BSP		1u
#define MP_CPU_ENABLED		2u
#define AP_WAIT_MS		2000

void EFIAPI fw_ap_park(void *ap);
_Static_assert(__builtin_offsetof(struct bi_fw_ap, parked) == 252 &&
	       __builtin_offsetof(struct bi_fw_ap, release) == 256 &&
	       __builtin_offsetof(struct bi_fw_ap, back) == 260 &&
	       __builtin_offsetof(struct bi_fw_ap, sig) == 264,
	       "struct bi_fw_ap as takeover.asm writes it");

static struct mp_services *mp;
static struct bi_fw_ap *aps;
static UINTN aps_pages;
static EFI_EVENT ap_event[BI_MAX_FW_APS];

/* How many APs the firmware has (0 without MP services). */
static void find_aps(void)
{
	static EFI_GUID guid = { 0x3fdda605, 0xa76e, 0x4f46,
				 { 0xad, 0x29, 0x12, 0xf4, 0x53, 0x1b, 0x3d, 0x08 } };
	UINTN all = 1, enabled = 1;

	if (EFI_ERROR(uefi_call_wrapper(BS->LocateProtocol, 3, &guid, NULL,
					(void **)&mp)) ||
	    EFI_ERROR(uefi_call_wrapper(mp->count, 3, mp, &all, &enabled)) || all < 2)
		return;
	nr_aps = all - 1;
}

/* An AP back from fw_ap_park(): its event is signalled (13.4.5) and closed. */
static UINTN aps_back(UINTN ms)
{
	UINTN i, n;

	for (;; ms--) {
		for (i = 0, n = 0; i < nr_aps; i++) {
			if (ap_event[i] && !EFI_ERROR(uefi_call_wrapper(BS->CheckEvent,
								       1, ap_event[i]))) {
				uefi_call_wrapper(BS->CloseEvent, 1, ap_event[i]);
				ap_event[i] = NULL;
			}
			n += !ap_event[i];
		}
		if (n == nr_aps || !ms)
			return n;
		uefi_call_wrapper(BS->Stall, 1, 1000);
	}
}

/* No AP start-up in the core: the trampoline page goes back. */
static void drop_tramp(struct boot_info *bi)
{
	if (!tramp)
		return;
	uefi_call_wrapper(BS->FreePages, 2, tramp, 1);
	reserved[2].pages = 0;
	add_busy(bi, tramp, tramp + EFI_PAGE);
	tramp = 0;
}

/* All or nothing: one AP failed, every parked one returns to the firmware. */
static void release_aps(struct boot_info *bi, UINTN cpu, const CHAR16 *why,
			EFI_STATUS st)
{
	UINTN i;

	for (i = 0; i < nr_aps; i++)
		aps[i].release = 1;
	warn(L"guest=firmware: processor %ld %s (%r): all %ld AP(s) stay with the firmware, outside umbra, and so does the OS's AP start-up later; only this one runs under umbra\n",
	     (UINT64)cpu, why, st, (UINT64)nr_aps);
	aps_back(AP_WAIT_MS);
	bi->nr_fw_aps = 0;
	drop_tramp(bi);
}

/* Each AP into fw_ap_park(); bi->fw_aps says where they are. */
static void park_aps(struct boot_info *bi)
{
	static UINTN ap_cpu[BI_MAX_FW_APS];	/* MP services' processor numbers */
	struct mp_cpu_info info;
	EFI_PHYSICAL_ADDRESS a;
	EFI_STATUS st = EFI_UNSUPPORTED;
	UINTN i, cpu, ms;

	if (!nr_aps)
		return;
	aps_pages = DIV_UP(nr_aps * sizeof(*aps), EFI_PAGE);
	/* not alloc_pages(): the APs write here until they are back */
	if (nr_aps <= BI_MAX_FW_APS && tramp)
		st = uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages,
				       EfiLoaderData, aps_pages, &a);
	if (EFI_ERROR(st)) {
		warn(L"guest=firmware: %ld AP(s): %s (%r): they stay with the firmware, outside umbra, and so does the OS's AP start-up later; only this processor runs under umbra\n",
		     (UINT64)nr_aps, !tramp ? L"no page below 1 MiB for umbra's AP start-up" :
		     nr_aps > BI_MAX_FW_APS ? L"too many" : L"no memory for their state", st);
		nr_aps = 0;
		drop_tramp(bi);
		return;
	}
	aps = (struct bi_fw_ap *)(UINTN)a;
	bs_zero(aps, aps_pages * EFI_PAGE);
	bi->fw_aps = a;
	bi->nr_fw_aps = (UINT32)nr_aps;
	for (i = 0, cpu = 0; i < nr_aps; cpu++) {
		bs_zero(&info, sizeof(info));
		st = uefi_call_wrapper(mp->info, 3, mp, cpu, &info);
		if (!EFI_ERROR(st) && (info.status & MP_CPU_BSP))
			continue;
		if (!EFI_ERROR(st) && !(info.status & MP_CPU_ENABLED))
			st = EFI_NOT_STARTED;
		aps[i].apic_id = (UINT32)info.apic_id;
		ap_cpu[i] = cpu;
		if (!EFI_ERROR(st))
			st = uefi_call_wrapper(BS->CreateEvent, 5, 0, 0, NULL, NULL,
					       &ap_event[i]);
		if (!EFI_ERROR(st))
			st = uefi_call_wrapper(mp->startup_this_ap, 7, mp, fw_ap_park,
					       cpu, ap_event[i], 0, &aps[i], NULL);
		if (EFI_ERROR(st)) {
			if (ap_event[i])
				uefi_call_wrapper(BS->CloseEvent, 1, ap_event[i]);
			ap_event[i] = NULL;
			release_aps(bi, cpu, L"is disabled or cannot run umbra's code", st);
			return;
		}
		i++;
	}
	for (i = 0, ms = 0; i < nr_aps; ) {
		if (*(volatile UINT32 *)&aps[i].parked) {
			i++;
			continue;
		}
		if (ms++ == AP_WAIT_MS) {
			release_aps(bi, ap_cpu[i], L"did not run umbra's code", EFI_TIMEOUT);
			return;
		}
		uefi_call_wrapper(BS->Stall, 1, 1000);
	}
	msg(L"guest=firmware: %ld AP(s) parked through the firmware's MP services; umbra takes them over too\n",
	    (UINT64)nr_aps);
}

/* As the guest: is each AP back in the firmware, under umbra? */
static void report_aps(void)
{
	UINTN i, back, ok = 0;

	if (!aps)
		return;
	back = aps_back(AP_WAIT_MS);
	for (i = 0; i < nr_aps; i++) {
		if (*(volatile UINT32 *)&aps[i].back &&
		    !memcmp(aps[i].sig, hv_sig, sizeof(hv_sig)))
			ok++;
		else
			warn(L"guest=firmware: AP with APIC ID %x %s\n", aps[i].apic_id,
			     aps[i].back ? L"is back in the firmware outside umbra" :
			     L"has not come back to the firmware");
	}
	msg(L"guest=firmware: %ld of %ld AP(s) back in the firmware as umbra's guests\n",
	    (UINT64)ok, (UINT64)nr_aps);
	if (back == nr_aps)	/* else they may still write there */
		uefi_call_wrapper(BS->FreePages, 2, (EFI_PHYSICAL_ADDRESS)(UINTN)aps,
				  aps_pages);
	/* all released (none is umbra's guest): the core took no trampoline */
	if (back == nr_aps && !ok && reserved[2].pages)
		uefi_call_wrapper(BS->FreePages, 2, reserved[2].base, 1);
	reserved[2].pages = 0;
	aps = NULL;
}

/* CPUID 4000_0000h: umbra's signature in EBX, ECX, EDX (docs/architecture.md). */
static bool under_umbra(void)
{
	struct cpuid_regs r = cpuid(0x40000000);
	uint32_t sig[3] = { r.ebx, r.ecx, r.edx };

	return !memcmp(sig, hv_sig, sizeof(sig));
}

/* 13.4 EFI_SIMPLE_FILE_SYSTEM_PROTOCOL: does `path` exist on `handle`? */
static bool has_file(EFI_HANDLE handle, CHAR16 *path)
{
	EFI_FILE_HANDLE root = LibOpenRoot(handle), f;
	EFI_STATUS st;

	if (!root)
		return false;
	st = uefi_call_wrapper(root->Open, 5, root, &f, path, EFI_FILE_MODE_READ, 0);
	if (!EFI_ERROR(st))
		uefi_call_wrapper(f->Close, 1, f);
	uefi_call_wrapper(root->Close, 1, root);
	return !EFI_ERROR(st);
}

/*
 * As the guest: start `path` from the first file system other than
 * umbra's own that has it.  Returns only when there is none, or when the
 * loader failed or returned: the boot manager then carries on.
 */
static EFI_STATUS boot_next(EFI_HANDLE image, EFI_LOADED_IMAGE *li,
			    const char *apath)
{
	static const struct volume root;	/* a relative path: from the root */
	CHAR16 path[VOL_PATH_CHARS];
	EFI_HANDLE *handles, child;
	EFI_DEVICE_PATH *dp;
	UINTN n, i;
	EFI_STATUS st;

	volume_path(&root, apath, path);
	st = LibLocateHandle(ByProtocol, &FileSystemProtocol, NULL, &n, &handles);
	if (EFI_ERROR(st))
		n = 0;
	for (i = 0; i < n; i++) {
		if (handles[i] == li->DeviceHandle || !has_file(handles[i], path))
			continue;
		dp = FileDevicePath(handles[i], path);
		msg(L"guest=firmware: starting %s of file system %d\n", path, i);
		st = uefi_call_wrapper(BS->LoadImage, 6, FALSE, image, dp, NULL,
				       0, &child);
		if (!EFI_ERROR(st))
			st = uefi_call_wrapper(BS->StartImage, 3, child, NULL, NULL);
		err(L"guest=firmware: %s %s: %r; back to the boot manager\n", path,
		    EFI_ERROR(st) ? L"failed" : L"returned", st);
		FreePool(handles);
		return EFI_ERROR(st) ? st : EFI_LOAD_ERROR;
	}
	if (n)
		FreePool(handles);
	err(L"guest=firmware: no file system but umbra's own has %s; back to the boot manager\n",
	    path);
	return EFI_NOT_FOUND;
}

/* As the guest: nothing of the hand-off stays, then the OS loader. */
static EFI_STATUS as_guest(EFI_HANDLE image, EFI_LOADED_IMAGE *li,
			   const struct loader_cfg *cfg)
{
	const char *path = cfg->have_boot ? cfg->boot.path : DEFAULT_BOOT;

	if (!under_umbra()) {
		err(L"guest=firmware: back from the core, but CPUID shows no umbra\n");
		return EFI_ABORTED;
	}
	msg(L"guest=firmware: the firmware runs as umbra's guest now\n");
	report_aps();
	/* the image header umbra.efi copied there: the guest must not see it */
	if (*(volatile UINT64 *)(UINTN)umbra_base == UMBRA_IMAGE_MAGIC)
		err(L"guest=firmware: the guest reads umbra's image at 0x%lx\n", umbra_base);
	else
		msg(L"guest=firmware: umbra's memory at 0x%lx does not read as umbra's image\n",
		    umbra_base);
	/* the core's copy in umbra.efi: the guest gets no image of umbra */
	memset((void *)umbra_core_start, 0, (UINT64)(umbra_core_end - umbra_core_start));
	memset(state, 0, sizeof(*state));
	free_all_pages();
	/* UEFI 2.10 3.1.1: after an error the boot manager tries the next
	   Boot#### (after EFI_SUCCESS it may show its menu instead) */
	if (cfg->have_boot && !str_cmp_ci(path, "none")) {
		msg(L"guest=firmware: boot = none; back to the boot manager, on to its next boot option\n");
		return EFI_NOT_STARTED;
	}
	return boot_next(image, li, path);
}

/* Everything but the take-over itself; the ranges go back on an error. */
static EFI_STATUS prepare(struct handoff *h, UINT64 size, UINT64 *low)
{
	struct boot_info *bi = h->bi;
	EFI_PHYSICAL_ADDRESS a;
	EFI_STATUS st;

	st = alloc_pages(1, &a);
	if (EFI_ERROR(st))
		return st;
	state = (struct bi_cpu_state *)(UINTN)a;
	bs_zero(state, EFI_PAGE);
	st = reserve_umbra(h, size, low);
	if (!EFI_ERROR(st))
		st = place_core(h);
	if (!EFI_ERROR(st))
		st = handoff_prepare(h);
	if (EFI_ERROR(st)) {
		unreserve();
		return st;
	}
	bi->image_phys = umbra_base = h->core_phys;
	bi->acpi_rsdp = find_rsdp();
	bi->fw_state = a;
	handoff_build_tables(h);
	return EFI_SUCCESS;
}

EFI_STATUS fw_run(EFI_HANDLE image, EFI_LOADED_IMAGE *li,
		  const struct loader_cfg *cfg, struct handoff *h)
{
	struct umbra_image_header hdr;
	UINT64 size = mem_option(h->bi->cmdline), low;
	EFI_STATUS st;

	if (under_umbra()) {	/* a boot option that starts umbra.efi again */
		err(L"guest=firmware: this firmware already runs under umbra\n");
		return EFI_ALREADY_STARTED;
	}
	msg(L"guest=firmware: umbra takes this CPU over, the firmware becomes its guest\n");
	find_aps();
	/* the core's own minimum (core/mem.c mem_init()); place_core() checks hdr */
	memcpy(&hdr, umbra_core_start, sizeof(hdr));
	if (size < ALIGN_UP(hdr.mem_size, SZ_2M) + 4 * MIB)
		size = ALIGN_UP(hdr.mem_size, SZ_2M) + 4 * MIB;
	st = prepare(h, size, &low);
	if (EFI_ERROR(st))
		return st;
	msg(L"umbra's memory 0x%lx-0x%lx, low pool 0x%lx-0x%lx: reserved (EfiReservedMemoryType)\n",
	    h->core_phys, h->core_phys + size - 1, low, low + LOW_POOL - 1);
	park_aps(h->bi);
	msg(L"cmdline: %a\n", h->bi->cmdline);
	msg(L"entering the core with boot services running\n");
	fw_takeover(state, h->bi, h->entry64, h->pt_base,
		    h->stack_base + h->stack_pages * EFI_PAGE);
	st = as_guest(image, li, cfg);
	/* main.c: no "giving up" after boot = none */
	h->exit_tried = st == EFI_NOT_STARTED;
	return st;
}
