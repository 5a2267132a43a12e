# SPDX-License-Identifier: BSD-2-Clause
# Host tests of the instruction decoder (arch/x86/emul/decode.c).  The expected
# forms come from the assembler: forms{16,32,64}.S are assembled and
# disassembled into forms.h by gen_forms.py at build time.

DECODE_DIR	:= tests/host/decode
DECODER_SRCS	:= arch/x86/emul/decode.c arch/x86/emul/operand.c
DECODE_OBJ	:= $(BUILD)/host/decode
DECODE_AS	:= as
DECODE_OBJDUMP	:= objdump
DECODE_OBJCOPY	:= objcopy
DECODE_CLANG	:= clang
FUZZ_SECS	:= 60

HOST_TESTS	+= $(DECODE_OBJ)/test_decode

$(DECODE_OBJ)/forms64.o: $(DECODE_DIR)/forms64.S
	@mkdir -p $(dir $@)
	$(DECODE_AS) --64 -o $@ $<

$(DECODE_OBJ)/forms%.o: $(DECODE_DIR)/forms%.S $(DECODE_DIR)/legacy.inc
	@mkdir -p $(dir $@)
	$(DECODE_AS) --32 -I $(DECODE_DIR) -o $@ $<

$(DECODE_OBJ)/forms.h: $(DECODE_DIR)/gen_forms.py $(DECODE_OBJ)/forms16.o \
		$(DECODE_OBJ)/forms32.o $(DECODE_OBJ)/forms64.o
	$(PYTHON) $< $(DECODE_OBJDUMP) $(DECODE_OBJCOPY) \
		16:$(DECODE_OBJ)/forms16.o 32:$(DECODE_OBJ)/forms32.o \
		64:$(DECODE_OBJ)/forms64.o > $@.tmp
	mv $@.tmp $@

$(DECODE_OBJ)/test_decode: $(DECODE_DIR)/test_decode.c $(DECODER_SRCS) \
		arch/x86/emul/decode.h tests/host/check.c tests/host/host_env.h \
		$(DECODE_OBJ)/forms.h
	$(CC) $(HOST_CFLAGS) -I$(DECODE_OBJ) -o $@ $(DECODE_DIR)/test_decode.c \
		$(DECODER_SRCS) tests/host/check.c

# libFuzzer, not part of `make test`: make decode-fuzz [FUZZ_SECS=n]
.PHONY: decode-fuzz
decode-fuzz:
	@if command -v $(DECODE_CLANG) >/dev/null 2>&1; then \
		mkdir -p $(DECODE_OBJ) && \
		$(DECODE_CLANG) -std=c11 -O1 -g -I. -Iinclude \
			-fsanitize=fuzzer,address,undefined \
			-fno-sanitize-recover=all -o $(DECODE_OBJ)/fuzz_decode \
			$(DECODE_DIR)/fuzz_decode.c $(DECODER_SRCS) && \
		$(DECODE_OBJ)/fuzz_decode -max_len=20 \
			-max_total_time=$(FUZZ_SECS) -print_final_stats=1; \
	else \
		echo "decode-fuzz: $(DECODE_CLANG) not found, skipped"; \
	fi

# emulate.c on a fake vCPU, against the host CPU running the same bytes
HOST_TESTS	+= $(DECODE_OBJ)/test_emulate

$(DECODE_OBJ)/test_emulate: $(DECODE_DIR)/test_emulate.c arch/x86/emul/emulate.c \
		arch/x86/emul/emulate.h $(DECODER_SRCS) arch/x86/emul/decode.h \
		tests/host/check.c tests/host/host_env.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ $(DECODE_DIR)/test_emulate.c \
		arch/x86/emul/emulate.c $(DECODER_SRCS) tests/host/check.c
