#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Turn assembled forms (forms16/32/64.S) into a C table for test_decode.

usage: gen_forms.py OBJDUMP OBJCOPY MODE:OBJECT... > forms.h

The bytes, lengths, mnemonics and operands come from the assembler's
object as disassembled by objdump (AT&T syntax with suffixes); this script
only maps them to the fields of struct x86_insn.  Sections: .text must
decode, .text.unsup must be X86_DEC_UNSUPPORTED, .text.ud X86_DEC_UD (its
cases are delimited by labels, since objdump cannot show all of them).
"""
import re
import subprocess
import sys
import tempfile

REGS = {}
for i, n in enumerate("ax cx dx bx sp bp si di".split()):
    REGS["r" + n] = REGS["e" + n] = REGS[n] = i
for i, n in enumerate("al cl dl bl spl bpl sil dil".split()):
    REGS[n] = i
for i in range(8, 16):
    for s in ("", "d", "w", "b"):
        REGS["r%d%s" % (i, s)] = i
for i, n in enumerate("ah ch dh bh".split()):
    REGS[n] = 16 + i
SEGS = {"es": 0, "cs": 1, "ss": 2, "ds": 3, "fs": 4, "gs": 5}
PREFIXES = {"lock", "rep", "repz", "repe", "repnz", "repne", "addr32",
            "addr16", "data16", "data32", "cs", "ds", "es", "ss", "fs", "gs"}
SIZES = {"b": 1, "w": 2, "l": 4, "q": 8}
OPS = [("cmpxchg", "CMPXCHG"), ("xchg", "XCHG"), ("movs", "MOVS"),
       ("stos", "STOS"), ("movabs", "MOV"), ("mov", "MOV"), ("add", "ADD"),
       ("or", "OR"), ("and", "AND"), ("sub", "SUB"), ("xor", "XOR"),
       ("bts", "BTS"), ("btr", "BTR"), ("btc", "BTC"), ("adc", "ADC"),
       ("sbb", "SBB"), ("inc", "INC"), ("dec", "DEC"), ("not", "NOT"),
       ("neg", "NEG"), ("xadd", "XADD"), ("rol", "ROL"), ("ror", "ROR"),
       ("rcl", "RCL"), ("rcr", "RCR"), ("shl", "SHL"), ("sal", "SHL"),
       ("shr", "SHR"), ("sar", "SAR")]
SHIFTS = ("ROL", "ROR", "RCL", "RCR", "SHL", "SHR", "SAR")
MEM_RE = re.compile(r"^(?:%(\w\w):)?(-?0x[0-9a-f]+|-?\d+)?"
                    r"(?:\((%\w+)?(?:,(%\w+))?(?:,(\d))?\))?$")


def reg_width(r):
    if r in ("rip",) or (r.startswith("r") and not r[-1] in "dwb"):
        return 8
    if r.startswith("e") or r.endswith("d"):
        return 4
    return 2


def split_operands(s):
    out, depth, cur = [], 0, ""
    for c in s:
        if c == "," and depth == 0:
            out.append(cur)
            cur = ""
            continue
        depth += c == "("
        depth -= c == ")"
        cur += c
    if cur:
        out.append(cur)
    return [o.strip() for o in out]


def classify(mn):
    fixed = {"cmpxchg8b": ("CMPXCHG8B", 8), "cmpxchg16b": ("CMPXCHG8B", 16),
             "invlpg": ("INVLPG", 0), "clts": ("CLTS", 0),
             "lmsw": ("LMSW", 2), "int3": ("INT3", 0), "int": ("INT", 0),
             "into": ("INTO", 0)}
    if mn in fixed:
        return fixed[mn]
    if mn.startswith("set"):
        return "SETCC", 1
    if mn.startswith("movnti"):
        return "MOVNTI", 0	# objdump's suffix is the mode's, not the size
    for base, op in OPS:
        if mn[:-1] == base and mn[-1] in SIZES:
            return op, SIZES[mn[-1]]
    raise ValueError("unknown mnemonic " + mn)


def parse_mem(o):
    m = MEM_RE.match(o)
    if not m or o.startswith("%") and ":" not in o or o.startswith("$"):
        return None
    seg, disp, base, index, scale = m.groups()
    if disp is None and base is None:
        return None
    base = base[1:] if base else None
    index = index[1:] if index else None
    if index in ("eiz", "riz"):
        index = None
    return {"seg": seg, "disp": int(disp, 16 if "x" in disp else 10)
            if disp else 0, "base": base, "index": index,
            "scale": int(scale) if scale and index else 1}


def default_seg(mode, mem, string_dest):
    if string_dest:
        return 0
    if mem["seg"] and (mode != 64 or mem["seg"] in ("fs", "gs")):
        return SEGS[mem["seg"]]
    if mem["base"] in ("sp", "bp", "esp", "ebp", "rsp", "rbp"):
        return 2
    return 3


def c_mem(mode, mem, string_dest=False):
    rip = mem["base"] in ("rip", "eip")
    base = -1 if rip or not mem["base"] else REGS[mem["base"]]
    index = REGS[mem["index"]] if mem["index"] else -1
    return (base, index, mem["scale"], default_seg(mode, mem, string_dest),
            rip, mem["disp"])


def addr_size(mode, words, mems):
    for m in mems:
        for r in (m["base"], m["index"]):
            if r:
                return reg_width(r)
    if "addr32" in words:
        return 4
    if "addr16" in words:
        return 2
    return mode // 8


def form(mode, addr, raw, text):
    asm, _, comment = text.partition("#")
    words = asm.split()
    pre = []
    while words and (words[0] in PREFIXES or words[0].startswith("rex")):
        pre.append(words.pop(0))
    mn = words[0]
    ops = split_operands(" ".join(words[1:]))
    op, size = classify(mn)
    if op == "MOVNTI":
        first = split_operands(" ".join(words[1:]))[0]
        op, size = "MOV", reg_width(first[1:])
    f = {"text": text.strip(), "mode": mode, "bytes": raw, "result": 0,
         "op": op, "op_size": size, "lock": "lock" in pre, "rep": 0,
         "reg": -1, "rm_reg": -1, "cr": -1, "unordered": False,
         "imm": None, "mem": None, "src": None, "writes": False,
         "target": None, "addr": addr}
    for p in pre:
        if p in ("rep", "repz", "repe"):
            f["rep"] = 0xf3
        elif p in ("repnz", "repne"):
            f["rep"] = 0xf2
    mems = [(i, parse_mem(o)) for i, o in enumerate(ops)]
    mems = [(i, m) for i, m in mems if m]
    regs = [REGS[o[1:]] for o in ops if o[1:] in REGS]
    crs = [int(o[3:]) for o in ops if o.startswith("%cr")]
    drs = [int(o[3:]) for o in ops if o.startswith("%db")]
    for o in ops:
        if o.startswith("$"):
            f["imm"] = int(o[1:], 16 if "x" in o else 10)
    f["addr_size"] = addr_size(mode, pre, [m for _, m in mems])
    if crs:
        f["op"] = "MOV_TO_CR" if ops[-1].startswith("%cr") else "MOV_FROM_CR"
        f["cr"] = crs[0]
        f["rm_reg"] = regs[0]
    elif drs:	# the cr column holds the debug register's number
        f["op"] = "MOV_TO_DR" if ops[-1].startswith("%db") else "MOV_FROM_DR"
        f["cr"] = drs[0]
        f["rm_reg"] = regs[0]
    elif mems:
        last, mem = mems[-1]
        string = op in ("MOVS", "STOS")
        f["mem"] = c_mem(mode, mem, string)
        if op == "MOVS":
            f["src"] = c_mem(mode, mems[0][1])
        f["writes"] = (last == len(ops) - 1 or op == "XCHG") and \
            op not in ("INVLPG", "LMSW")
        if regs and op != "MOVS":
            f["reg"] = regs[0]
        if op in SHIFTS and f["imm"] is None and not regs:
            f["imm"] = 1		# by 1: implied, imm_size 0
        if f["mem"][4] and comment.strip():
            f["target"] = int(comment.split()[0], 16)
    elif len(regs) == 2:
        f["reg"], f["rm_reg"] = regs
        f["unordered"] = True
    elif len(regs) == 1:
        f["rm_reg"] = regs[0]
    return f


def disassemble(objdump, mode, obj):
    args = [objdump, "-d", "--insn-width=16", "-M",
            "suffix,i8086" if mode == 16 else "suffix", obj]
    out = subprocess.run(args, check=True, capture_output=True,
                         text=True).stdout
    section, pending = None, []
    for line in out.splitlines():
        m = re.match(r"^Disassembly of section (\S+):", line)
        if m:
            section = m.group(1)
            continue
        m = re.match(r"^\s*([0-9a-f]+):\t([0-9a-f ]+?)\s*\t(.*)$", line)
        if not m or section == ".text.ud":
            continue
        addr, raw, text = int(m.group(1), 16), m.group(2).split(), m.group(3)
        if re.match(r"^rex(\.\w+)?$", text.strip()):
            pending += raw		# an ignored REX: part of the next line
            continue
        raw = [int(b, 16) for b in pending] + [int(b, 16) for b in raw]
        addr -= len(pending)
        pending = []
        yield section, addr, raw, text


def ud_cases(objdump, objcopy, obj):
    syms = subprocess.run([objdump, "-t", obj], check=True,
                          capture_output=True, text=True).stdout
    labels = sorted(int(l.split()[0], 16) for l in syms.splitlines()
                    if ".text.ud" in l and re.search(r"\bud(\d+|_end)$", l))
    with tempfile.NamedTemporaryFile() as t:
        subprocess.run([objcopy, "-O", "binary", "-j", ".text.ud", obj,
                        t.name], check=True)
        data = open(t.name, "rb").read()
    for a, b in zip(labels, labels[1:]):
        yield a, list(data[a:b])


def c_bool(b):
    return "true" if b else "false"


def emit(f):
    mem = f["mem"] or (-1, -1, 1, 0, False, 0)
    src = f["src"] or (-1, -1, 1, 0, False, 0)
    imm = f["imm"]
    text = f["text"].replace("\\", "\\\\").replace('"', '\\"')
    print('\t{ "%s", %d, %d, { %s }, %s, X86_OP_%s, %d, %d,' % (
        text, f["mode"], len(f["bytes"]),
        ", ".join("0x%02x" % b for b in f["bytes"]), f["result"],
        f["op"], f["op_size"], f["addr_size"]))
    print("\t  %s, %s, { %d, %d, %d, %d, %s, (int64_t)0x%xull }, %s," % (
        c_bool(f["mem"]), c_bool(f["writes"]), mem[0], mem[1], mem[2],
        mem[3], c_bool(mem[4]), mem[5] & (2**64 - 1), c_bool(f["src"])))
    print("\t  { %d, %d, %d, %d, false, 0 }, %d, %d, %d, %s, %s, 0x%xull,"
          % (src[0], src[1], src[2], src[3], f["reg"], f["rm_reg"], f["cr"],
             c_bool(f["unordered"]), c_bool(imm is not None),
             (imm or 0) & (2**64 - 1)))
    print("\t  %s, 0x%x, %s, 0x%xull, 0x%xull }," % (
        c_bool(f["lock"]), f["rep"], c_bool(f["target"] is not None),
        f["target"] or 0, f["addr"]))


def main():
    objdump, objcopy = sys.argv[1], sys.argv[2]
    print("/* Generated by tests/host/decode/gen_forms.py: do not edit. */")
    print("static const struct form forms[] = {")
    for arg in sys.argv[3:]:
        mode, obj = arg.split(":", 1)
        mode = int(mode)
        for section, addr, raw, text in disassemble(objdump, mode, obj):
            if section == ".text":
                f = form(mode, addr, raw, text)
            else:
                f = {"text": text.strip(), "mode": mode, "bytes": raw,
                     "result": "X86_DEC_UNSUPPORTED", "op": "NONE",
                     "op_size": 0, "addr_size": 0, "mem": None,
                     "src": None, "writes": False, "reg": -1, "rm_reg": -1,
                     "cr": -1, "unordered": False, "imm": None,
                     "lock": False, "rep": 0, "target": None, "addr": addr}
            emit(f)
        for addr, raw in ud_cases(objdump, objcopy, obj):
            f = {"text": "#UD case at .text.ud+0x%x" % addr, "mode": mode,
                 "bytes": raw, "result": "X86_DEC_UD", "op": "NONE",
                 "op_size": 0, "addr_size": 0, "mem": None, "src": None,
                 "writes": False, "reg": -1, "rm_reg": -1, "cr": -1,
                 "unordered": False, "imm": None, "lock": False, "rep": 0,
                 "target": None, "addr": addr}
            emit(f)
    print("};")


if __name__ == "__main__":
    main()
