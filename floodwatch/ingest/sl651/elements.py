"""The element identifiers of SL 651-2014 (appendix tables), by code."""

from __future__ import annotations

# code -> (identifier, meaning, unit)
ELEMENTS: dict[int, tuple[str, str, str]] = {
    0x01: ("AC", "断面面积 cross-section area", "m²"),
    0x02: ("AI", "瞬时气温 air temperature", "°C"),
    0x03: ("C", "瞬时水温 water temperature", "°C"),
    0x04: ("DRxnn", "时间步长码 time step (DDHHMM)", ""),
    0x05: ("DT", "时段长 period length", "h"),
    0x06: ("ED", "日蒸发量 daily evaporation", "mm"),
    0x07: ("EJ", "当前蒸发 evaporation", "mm"),
    0x08: ("FL", "气压 air pressure", "hPa"),
    0x09: ("GH", "闸门开启高度 gate opening", "m"),
    0x0A: ("GN", "闸门编号 gate number", ""),
    0x0B: ("GS", "输水设备类别 outlet type", ""),
    0x0C: ("GT", "闸门开启孔数 gates open", ""),
    0x0D: ("GTP", "地温 ground temperature", "°C"),
    0x0E: ("H", "地下水埋深 groundwater depth", "m"),
    0x0F: ("HW", "波浪高度 wave height", "m"),
    0x10: ("M10", "10 cm 墒情 soil moisture", "%"),
    0x11: ("M20", "20 cm 墒情", "%"),
    0x12: ("M30", "30 cm 墒情", "%"),
    0x13: ("M40", "40 cm 墒情", "%"),
    0x14: ("M50", "50 cm 墒情", "%"),
    0x15: ("M60", "60 cm 墒情", "%"),
    0x16: ("M80", "80 cm 墒情", "%"),
    0x17: ("M100", "100 cm 墒情", "%"),
    0x18: ("MST", "湿度 humidity", "%"),
    0x19: ("NS", "开机台数 units running", ""),
    0x1A: ("P1", "1 小时时段降水量 1 h rain", "mm"),
    0x1B: ("P2", "2 小时时段降水量 2 h rain", "mm"),
    0x1C: ("P3", "3 小时时段降水量 3 h rain", "mm"),
    0x1D: ("P6", "6 小时时段降水量 6 h rain", "mm"),
    0x1E: ("P12", "12 小时时段降水量 12 h rain", "mm"),
    0x1F: ("PD", "日降水量 daily rain", "mm"),
    0x20: ("PJ", "当前降水量 rain since the last report", "mm"),
    0x21: ("PN01", "1 分钟时段降水量 1 min rain", "mm"),
    0x22: ("PN05", "5 分钟时段降水量 5 min rain", "mm"),
    0x23: ("PN10", "10 分钟时段降水量 10 min rain", "mm"),
    0x24: ("PN30", "30 分钟时段降水量 30 min rain", "mm"),
    0x25: ("PR", "暴雨量 storm rain", "mm"),
    0x26: ("PT", "降水量累计值 cumulative rain", "mm"),
    0x27: ("Q", "瞬时流量 flow", "m³/s"),
    0x28: ("Q1", "取(排)水口 1 流量 outlet 1 flow", "m³/s"),
    0x29: ("Q2", "outlet 2 flow", "m³/s"),
    0x2A: ("Q3", "outlet 3 flow", "m³/s"),
    0x2B: ("Q4", "outlet 4 flow", "m³/s"),
    0x2C: ("Q5", "outlet 5 flow", "m³/s"),
    0x2D: ("Q6", "outlet 6 flow", "m³/s"),
    0x2E: ("Q7", "outlet 7 flow", "m³/s"),
    0x2F: ("Q8", "outlet 8 flow", "m³/s"),
    0x30: ("QA", "总出库流量 total outflow", "m³/s"),
    0x31: ("QZ", "输水设备流量 outlet flow", "m³/s"),
    0x32: ("SW", "输沙量 sediment", "t"),
    0x33: ("UC", "风向 wind direction", ""),
    0x34: ("UE", "风力 wind force", ""),
    0x35: ("US", "风速 wind speed", "m/s"),
    0x36: ("VA", "断面平均流速 mean velocity", "m/s"),
    0x37: ("VJ", "当前瞬时流速 velocity", "m/s"),
    0x38: ("VT", "电源电压 supply voltage", "V"),
    0x39: ("Z", "瞬时水位 level", "m"),
    0x3A: ("ZB", "库(闸)下水位 downstream level", "m"),
    0x3B: ("ZU", "库(闸)上水位 upstream level", "m"),
    0x3C: ("Z1", "取(排)水口 1 水位 level 1", "m"),
    0x3D: ("Z2", "level 2", "m"),
    0x3E: ("Z3", "level 3", "m"),
    0x3F: ("Z4", "level 4", "m"),
    0x40: ("Z5", "level 5", "m"),
    0x41: ("Z6", "level 6", "m"),
    0x42: ("Z7", "level 7", "m"),
    0x43: ("Z8", "level 8", "m"),
    0x44: ("SQ", "含沙量 sediment concentration", "kg/m³"),
    0x45: ("ZT", "遥测站状态及报警信息 status and alarms", ""),
}

BY_NAME: dict[str, int] = {name: code for code, (name, _, _) in ELEMENTS.items()}

# Fixed-form series: 12 values in 5-minute steps, HEX (not BCD).
DRP = 0xF4  # 12 × 1 byte, 0.1 mm, FF invalid
DRZ = range(0xF5, 0xFD)  # DRZ1..DRZ8: 12 × 2 bytes, 0.01 m, FFFF invalid
SERIES_NAMES: dict[int, str] = {DRP: "DRP", **{c: f"DRZ{c - 0xF4}" for c in DRZ}}
TT, ST, RGZS, PIC = 0xF0, 0xF1, 0xF2, 0xF3
STATION_CLASSES: dict[int, str] = {
    0x50: "P",
    0x48: "H",
    0x4B: "K",
    0x5A: "Z",
    0x44: "D",
    0x54: "T",
    0x4D: "M",
    0x47: "G",
    0x51: "Q",
    0x49: "I",
    0x4F: "O",
}
# Status word (ZT) bits floodwatch reads as sensor health.
STATUS_BITS: dict[int, str] = {
    0: "ac_power_lost",
    1: "battery_low",
    2: "level_over_limit",
    3: "flow_over_limit",
    4: "water_quality_over_limit",
    5: "flow_meter_fault",
    6: "level_gauge_fault",
    7: "door_open",
    8: "memory_fault",
    9: "ic_card",
    10: "pump_fault",
    11: "remaining_water_alarm",
}


def status_flags(word: int) -> list[str]:
    return [name for bit, name in STATUS_BITS.items() if word >> bit & 1]
