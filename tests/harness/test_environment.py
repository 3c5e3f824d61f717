"""The environment as a fact: CPU flags parsed from /proc/cpuinfo text, the facts divergences use,
derived for faked machines of both kinds this project runs on."""

from convparity.adapters import environment

EPYC = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 9R14 96-Core Processor
flags\t\t: fpu sse4_2 avx avx2 fma f16c avx512f avx512dq avx512bw avx512vl avx512_bf16 avx512_vnni
"""
EPYC_AVX2 = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC
flags\t\t: fpu fma sse4_2 avx f16c avx2 sha_ni
"""
XEON = """processor\t: 0
model name\t: Intel(R) Xeon(R) Processor
flags\t\t: fpu sse4_2 avx avx2 avx512f avx512bw avx512vl avx_vnni avx512_bf16 amx_bf16 \
avx512_fp16 amx_tile amx_int8
processor\t: 1
model name\t: ignored: the first processor counts
"""


def machine(text: str, **variables) -> dict:
    return {"cpu": environment.cpu_info(text), "variables": variables, "cores": 2,
            "os": "Linux", "python": "3.11"}


def test_cpu_info_reads_the_model_and_the_kernel_relevant_flags():
    info = environment.cpu_info(XEON)
    assert info["model"] == "Intel(R) Xeon(R) Processor"
    assert info["flags"] == ["sse4_2", "avx", "avx2", "avx_vnni", "avx512f", "avx512bw",
                             "avx512vl", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16",
                             "amx_int8"]
    assert "fpu" not in info["flags"]
    assert environment.cpu_info("")["flags"] == []


def test_facts_tell_the_two_machine_kinds_apart():
    epyc, xeon = (environment.derive_facts(machine(t)) for t in (EPYC, XEON))
    assert epyc["avx512f"] and epyc["avx512_bf16"] and not epyc["avx512_fp16"]
    assert not epyc["amx"] and not epyc["onednn_amx"]
    assert xeon["amx"] and xeon["onednn_amx"] and xeon["avx512_fp16"]
    assert epyc["tf_onednn"] and xeon["tf_onednn"]  # TensorFlow's default with VNNI/BF16/AMX


def test_tensorflow_runs_onednn_by_default_only_with_neural_network_features():
    avx2 = environment.derive_facts(machine(EPYC_AVX2))  # measured: NCHW conv2d unimplemented
    assert avx2["avx2"] and not avx2["avx512f"] and not avx2["tf_onednn"]
    assert environment.derive_facts(machine(EPYC_AVX2, TF_ENABLE_ONEDNN_OPTS="1"))["tf_onednn"]
    assert environment.derive_facts(machine(EPYC_AVX2, TF_ENABLE_ONEDNN_OPTS="True"))[
        "tf_onednn"]
    assert not environment.derive_facts(machine(XEON, TF_ENABLE_ONEDNN_OPTS="FALSE"))[
        "tf_onednn"]
    # a value TF does not read as a boolean leaves its default (it warns)
    assert environment.derive_facts(machine(XEON, TF_ENABLE_ONEDNN_OPTS="yes"))["tf_onednn"]


def test_steering_variables_change_the_facts():
    capped = environment.derive_facts(machine(XEON, ONEDNN_MAX_CPU_ISA="AVX512_CORE_BF16"))
    assert capped["amx"] and capped["onednn_isa_capped"] and not capped["onednn_amx"]
    uncapped = environment.derive_facts(machine(XEON, ONEDNN_MAX_CPU_ISA="avx512_core_amx"))
    assert uncapped["onednn_amx"] and not uncapped["onednn_isa_capped"]
    old_name = environment.derive_facts(machine(XEON, DNNL_MAX_CPU_ISA="AVX2"))
    assert not old_name["onednn_amx"]
    off = environment.derive_facts(machine(EPYC, TF_ENABLE_ONEDNN_OPTS="0"))
    assert not off["tf_onednn"]


def test_describe_names_the_cpu_flags_and_variables():
    line = environment.describe(machine(XEON, OMP_NUM_THREADS="1"))
    assert line.startswith("Intel(R) Xeon(R) Processor [")
    assert "amx_bf16" in line and "avx512_fp16" in line and "OMP_NUM_THREADS=1" in line
    assert "backend variables: none set" in environment.describe(machine(EPYC))


def test_this_machine_is_described_without_importing_a_framework():
    import sys

    before = {"torch", "tensorflow"} & set(sys.modules)
    environment.machine()
    assert {"torch", "tensorflow"} & set(sys.modules) == before
    assert set(environment.facts()) == environment.FACT_NAMES
