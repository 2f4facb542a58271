"""Plan arithmetic on the hand-written small site; every expected figure is worked by hand.

Catalogue facts used (stock): RTX 3090 24 GB, 350 W, 142.3 FP16 tensor / 35.6 FP32 TFLOPS;
RTX 3060 12 GB, 170 W, 51 / 12.7; GTX 1070 8 GB, 150 W, no tensor cores, 6.5 FP32.
"""

from __future__ import annotations

import pytest

from rigshift.model import SiteModel
from rigshift.plan import SitePlan, assess, build_plan
from rigshift.plan.conversion import HOST_RIG_OVERHEAD_W, SERVER_OVERHEAD_W
from tests.unit.plan.small_site import small_site


def plan_of(site: SiteModel) -> SitePlan:
    """The plan from the catalogue's verdicts alone: these sites have no acceptance records."""
    return build_plan(site, assess(site), {})


def test_gpu_totals_and_share() -> None:
    plan = plan_of(small_site())
    # train: 5 x 3090; infer: 2 + 3 x 3060; legacy: 2 x 1070;
    # retire: 6 x RX 580 + 4 x 3070 + 2 x CMP 90HX = 12
    assert [plan.classes[k].gpus for k in ("train", "infer", "legacy", "retire")] == [5, 5, 2, 12]
    assert plan.total_gpus == 24
    assert plan.kept.gpus == 12
    assert plan.kept_share == pytest.approx(0.5)  # 12 / 24
    assert plan.kept.vram_gb == pytest.approx(196)  # 5*24 + 5*12 + 2*8 = 120 + 60 + 16
    assert plan.kept.fp16_tensor_tflops == pytest.approx(966.5)  # 5*142.3 + 5*51 = 711.5 + 255
    assert plan.kept.fp32_tflops == pytest.approx(254.5)  # 5*35.6 + 5*12.7 + 2*6.5


def test_rig_verdicts_and_blockers() -> None:
    plan = plan_of(small_site())
    # r3 passes every host check, r1 and r4 move, r2 keeps no GPU.
    assert (plan.rigs.host, plan.rigs.move, plan.rigs.retire) == (1, 2, 1)
    # r1 and r4 fail all five checks; r3 fails none.
    assert dict(plan.rigs.blockers) == {"riser": 2, "cpu": 2, "ram": 2, "nvme": 2, "nic": 2}


def test_bill_of_materials() -> None:
    bom = plan_of(small_site()).bom
    # Moving: 5 x 3090 and 2 x 1070 from r1, 3 x 3060 from r4 (r3's two 3060s stay put).
    assert bom.gpus_to_move == 10
    # 4 slots per server, one model per server: 3090 ceil(5/4) = 2, 3060 1, 1070 1.
    servers = {line.model: (line.servers, line.ram_gb) for line in bom.servers}
    # RAM = 2 GB per GB of VRAM, rounded up to 32 GB DIMMs, per server:
    #   3090: full server 2*24*4 = 192 -> 192; the one-card server 2*24 = 48 -> 64; sum 256
    #   3060: 2*12*3 = 72 -> 96;  1070: 2*8*2 = 32 -> 32
    assert servers == {"RTX 3090": (2, 256), "RTX 3060": (1, 96), "GTX 1070": (1, 32)}
    assert bom.server_count == 4
    assert bom.ram_gb == 384  # 256 + 96 + 32
    assert bom.nvme_tb == pytest.approx(8)  # 4 servers x 2 TB (economics.nvme_tb_per_server)
    assert (bom.nics, bom.switch_ports) == (4, 8)  # 1 NIC and 2 ports per server


def test_power_budget_and_racks() -> None:
    power = plan_of(small_site()).power
    assert power.gpu_w == 2900  # 5*350 + 5*170 + 2*150 = 1750 + 850 + 300
    assert (SERVER_OVERHEAD_W, HOST_RIG_OVERHEAD_W) == (1000, 300)
    assert power.server_overhead_w == 4000  # 4 servers x 1000 W
    assert power.host_rig_overhead_w == 300  # r3 x 300 W
    assert power.it_load_kw == pytest.approx(7.2)  # (2900 + 4000 + 300) / 1000
    assert power.limit_kw == 8  # min(power 10, cooling 8)
    assert power.headroom_kw == pytest.approx(0.8)
    assert power.fits
    assert power.racks == 2  # ceil(7.2 / 5)


def test_over_capacity_is_reported() -> None:
    site = small_site()
    tight = site.model_copy(
        update={
            "site": site.site.model_copy(
                update={"power": site.site.power.model_copy(update={"capacity_kw": 7.0})}
            )
        }
    )
    power = plan_of(tight).power
    assert not power.fits
    assert power.headroom_kw == pytest.approx(-0.2)  # 7.0 - 7.2


def test_redundancy_gap_to_tier_4() -> None:
    gaps = {g.system: g for g in plan_of(small_site()).redundancy}
    # Tier IV needs 2N for both; power is N+1 today, cooling N.
    assert (gaps["power"].current, gaps["power"].required) == ("N+1", "2N")
    assert (gaps["cooling"].current, gaps["cooling"].required) == ("N", "2N")
    assert not gaps["power"].met and not gaps["cooling"].met
    assert "7 kW" in gaps["power"].actions[0]  # the second path is sized for the IT load


def test_redundancy_met_at_tier_1() -> None:
    site = small_site()
    tier1 = site.model_copy(update={"site": site.site.model_copy(update={"target_tier": 1})})
    assert all(gap.met for gap in plan_of(tier1).redundancy)


def test_capex_and_payback() -> None:
    eco = plan_of(small_site()).economics
    assert eco is not None
    capex = dict(eco.capex.items())
    assert capex == {
        "server_chassis": 20000,  # 4 x 5000
        "ram": 1536,  # 384 GB x 4
        "nvme": 800,  # 8 TB x 100
        "nics": 1200,  # 4 x 300
        "switch_ports": 1600,  # 8 x 200
    }
    assert eco.capex.total == 25136
    # (5 x 0.30 + 5 x 0.10 + 2 x 0.05) per hour x 0.5 utilisation x 730 h = 2.1 x 365 = 766.5
    assert eco.revenue_per_month == pytest.approx(766.5)
    assert eco.energy_cost_per_month == pytest.approx(525.6)  # 7.2 kW x 730 h x 0.10
    assert eco.payback_months == pytest.approx(25136 / 240.9)  # ~104.3 months


def test_no_economics_section_means_no_economics() -> None:
    site = small_site()
    plan = plan_of(site.model_copy(update={"economics": None}))
    assert plan.economics is None
    assert plan.to_json()["economics"] is None
    # NVMe falls back to the documented default of 4 TB per server.
    assert plan.bom.nvme_tb == pytest.approx(16)


def test_plan_is_pure() -> None:
    assert plan_of(small_site()).to_json() == plan_of(small_site()).to_json()
