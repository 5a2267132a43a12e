// SPDX-License-Identifier: BSD-2-Clause
/*
 * umbra.cfg and LoadOptions parsing.
 *
 * umbra.cfg holds one "key = value" per line; a line whose first non-blank
 * character is '#' is a comment, blank lines are ignored.  Keys:
 *   cmdline = OPTIONS			umbra's own command line
 *   guest   = PATH [GUEST CMDLINE]	the guest kernel, modules[0]
 *             (or the word firmware: boot/efi/firmware.c)
 *   boot    = PATH			guest=firmware: the OS loader to start
 *   module  = PATH [MODULE CMDLINE]	further modules, in order
 * An unknown key or a line without '=' is reported and skipped.
 */
#include "loader.h"

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Cut blanks from both ends of [s, e) and terminate it. */
static char *trim(char *s, char *e)
{
	while (s < e && is_blank(*s))
		s++;
	while (e > s && is_blank(e[-1]))
		e--;
	*e = '\0';
	return s;
}

/* "PATH rest of line" -> file->path, file->cmdline. */
static EFI_STATUS parse_file(const char *key, char *val, unsigned int line,
			     struct cfg_file *file)
{
	char *p = val, *rest;

	while (*p && !is_blank(*p))
		p++;
	rest = p;
	if (*rest) {
		*rest++ = '\0';
		while (is_blank(*rest))
			rest++;
	}
	if (!*val) {
		err(L"umbra.cfg line %d: '%a' needs a file path\n", line, key);
		return EFI_INVALID_PARAMETER;
	}
	if (strlen(val) >= sizeof(file->path)) {
		err(L"umbra.cfg line %d: path longer than %d characters\n",
		    line, (int)sizeof(file->path) - 1);
		return EFI_INVALID_PARAMETER;
	}
	/*
	 * The module's command line is what follows the path.  Its first word
	 * is by convention the module's name (include/umbra/bootinfo.h), so a
	 * bare path stands for itself.
	 */
	if (!*rest)
		rest = val;
	/* a longer one is cut here and refused by the core, by its length */
	file->cmdline_len = strlen(rest);
	strlcpy(file->cmdline, rest, sizeof(file->cmdline));
	strlcpy(file->path, val, sizeof(file->path));
	for (p = file->path; *p; p++)
		if (*p == '/')
			*p = '\\';
	file->line = line;
	return EFI_SUCCESS;
}

static EFI_STATUS parse_line(char *key, char *val, unsigned int line,
			     struct loader_cfg *cfg)
{
	if (!strcmp(key, "cmdline")) {
		if (strlen(val) >= sizeof(cfg->cmdline)) {
			err(L"umbra.cfg line %d: cmdline longer than %d characters\n",
			    line, (int)sizeof(cfg->cmdline) - 1);
			return EFI_INVALID_PARAMETER;
		}
		if (cfg->have_cmdline)
			warn(L"umbra.cfg line %d: second 'cmdline', this one wins\n",
			     line);
		strlcpy(cfg->cmdline, val, sizeof(cfg->cmdline));
		cfg->have_cmdline = true;
		return EFI_SUCCESS;
	}
	if (!strcmp(key, "guest")) {
		if (cfg->have_guest) {
			err(L"umbra.cfg line %d: second 'guest' (first on line %d)\n",
			    line, cfg->guest.line);
			return EFI_INVALID_PARAMETER;
		}
		cfg->have_guest = true;
		return parse_file(key, val, line, &cfg->guest);
	}
	if (!strcmp(key, "module")) {
		if (cfg->nr_extra >= ARRAY_SIZE(cfg->extra)) {
			err(L"umbra.cfg line %d: more than %d modules besides the guest\n",
			    line, (int)ARRAY_SIZE(cfg->extra));
			return EFI_INVALID_PARAMETER;
		}
		return parse_file(key, val, line, &cfg->extra[cfg->nr_extra++]);
	}
	if (!strcmp(key, "boot")) {	/* guest=firmware: what it boots */
		cfg->have_boot = true;
		return parse_file(key, val, line, &cfg->boot);
	}
	warn(L"umbra.cfg line %d: unknown key '%a', ignored\n", line, key);
	return EFI_SUCCESS;
}

/* Parse text[0..len) in place; text[len] must be writable. */
EFI_STATUS cfg_parse(char *text, UINTN len, struct loader_cfg *cfg)
{
	char *p = text, *end = text + len;
	unsigned int line = 0;
	EFI_STATUS st;

	memset(cfg, 0, sizeof(*cfg));
	*end = '\0';
	while (p < end) {
		char *nl = p, *s, *eq;

		while (nl < end && *nl != '\n' && *nl != '\0')
			nl++;
		line++;
		s = trim(p, nl);
		p = nl + 1;
		if (!*s || *s == '#')
			continue;
		for (eq = s; *eq && *eq != '='; eq++)
			;
		if (!*eq) {
			warn(L"umbra.cfg line %d: expected 'key = value', ignored\n",
			     line);
			continue;
		}
		st = parse_line(trim(s, eq), trim(eq + 1, eq + 1 + strlen(eq + 1)),
				line, cfg);
		if (EFI_ERROR(st))
			return st;
	}
	return EFI_SUCCESS;
}

static CHAR16 lower(CHAR16 c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Are [s, s + n) and [t, t + n) equal, ignoring ASCII case? */
static bool same_ci(const CHAR16 *s, const CHAR16 *t, UINTN n)
{
	for (UINTN i = 0; i < n; i++)
		if (lower(s[i]) != lower(t[i]))
			return false;
	return true;
}

static bool ends_with_efi(const CHAR16 *s, UINTN n)
{
	return n > 4 && same_ci(s + n - 4, L".efi", 4);
}

static bool names_image(const CHAR16 *s, UINTN n, const CHAR16 *image)
{
	UINTN k = image ? StrLen(image) : 0;

	if (ends_with_efi(s, n))
		return true;
	if (!image)
		return false;
	/* the image's name, or "umbra" for "umbra.efi": the shell adds the
	   extension itself */
	return (n == k || (n == k - 4 && ends_with_efi(image, k))) &&
	       same_ci(s, image, n);
}

/*
 * LoadOptions (9.1, EFI_LOADED_IMAGE_PROTOCOL) as umbra's command line.  The
 * UEFI shell passes the whole command line, image name first; a boot entry
 * passes whatever its optional data holds, which may be binary (edk2 puts a
 * GUID there for the boot options it creates itself).  Only printable ASCII
 * text counts.  Returns true and fills out when there is a non-empty command
 * line after the image name.
 */
bool load_options_cmdline(const void *opts, UINT32 size,
			  const CHAR16 *image_name, char *out, UINTN out_len)
{
	const CHAR16 *s = opts;
	UINTN n = size / sizeof(CHAR16), len, i, w, base;

	if (!opts || size < sizeof(CHAR16) || size % sizeof(CHAR16))
		return false;
	for (len = 0; len < n && s[len]; len++)
		if (s[len] != '\t' && (s[len] < 0x20 || s[len] > 0x7e))
			return false;

	for (i = 0; i < len && (s[i] == ' ' || s[i] == '\t'); i++)
		;
	for (w = i; w < len && s[w] != ' ' && s[w] != '\t'; w++)
		;
	/* The first word names the image when its last component does. */
	for (base = w; base > i; base--)
		if (s[base - 1] == '\\' || s[base - 1] == '/' ||
		    s[base - 1] == ':')
			break;
	if (w > i && names_image(s + base, w - base, image_name))
		i = w;

	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	while (len > i && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (i == len)
		return false;
	if (len - i >= out_len) {
		warn(L"LoadOptions longer than %d characters, ignored\n",
		     (int)out_len - 1);
		return false;
	}
	for (w = 0; i < len; i++, w++)
		out[w] = (char)s[i];
	out[w] = '\0';
	return true;
}
