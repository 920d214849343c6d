// floodwatch command center: every word the page shows, Chinese first, English second.
// Nothing from the API or the config is shown as its id: rules by their `name:`,
// stations by name, transitions, roles, kinds, states and errors by these tables.
"use strict";

const WORDS = {
  title: ["防汛预警指挥台", "Flood warning command center"],
  connecting: ["连接中…", "connecting…"], online: ["实时", "live"], offline: ["重新连接中…", "reconnecting…"],
  logout: ["退出", "Log out"], drill: ["演练进行中 —— 演练预警不会发送给公众", "EXERCISE RUNNING — drill alerts are not sent to the public"],
  login: ["值班员登录", "Duty officer login"], name: ["账号", "Account"], password: ["密码", "Password"], signin: ["登录", "Log in"],
  active: ["当前险情", "Active incidents"], stations: ["测站", "Stations"], station: ["测站", "Station"],
  latest: ["最新数据", "Latest"], age: ["数据时间", "Reading time"], last6h: ["近6小时", "Last 6 h"], level: ["预警", "Warning"],
  health: ["设备", "Sensor"], back: ["← 返回", "← back"], ack: ["确认险情", "Acknowledge incident"],
  comment: ["处置情况", "What is being done"], cancel: ["取消", "Cancel"], confirm: ["确认", "Acknowledge"],
  none: ["暂无险情", "No active incidents"], drillstart: ["演练", "Drill"], drilltitle: ["发起预警演练", "Start a warning drill"],
  drillhelp: ["演练预警只发给演练渠道，所有文字带【演练】。", "Drill alerts go to exercise destinations only; every text says EXERCISE."],
  drillgo: ["开始演练", "Start drill"], history: ["预警记录", "Alert history"], nav_board: ["预警", "Warnings"], nav_notices: ["通知", "Notices"],
  sev_red: ["红色", "Red"], sev_orange: ["橙色", "Orange"], sev_yellow: ["黄色", "Yellow"], sev_blue: ["蓝色", "Blue"],
  overtopping: ["已漫坝", "OVERTOPPING"], to_crest: ["预计{m}分钟漫顶", "crest in {m} min"],
  peak: ["预计最高水位 {v} 米（{m}分钟后）", "expected peak {v} m (in {m} min)"],
  no_overtop: ["预计不漫顶", "not expected to reach the crest"],
  level_now: ["水位", "level"], freeboard: ["距坝顶", "freeboard"], rise: ["涨速", "rising"], fall: ["回落", "falling"], outlet_flow: ["涵管流量", "outlet flow"],
  rain_window: ["{w}雨量", "{w} rain"], rain_peak: ["发布后最高", "peak since raised"], at_raise: ["发布时", "at raise"], line: ["预警线", "line"], now: ["现在", "now"],
  lasting: ["持续", "for"], acked_by: ["{who} 已确认", "acknowledged by {who}"], not_acked: ["未确认", "not acknowledged"],
  ack_button: ["确认", "Acknowledge"], end_drill: ["结束演练", "End drill"], exercise: ["演练", "EXERCISE"],
  calls: ["叫应", "call-and-answer"], called: ["已呼叫 {n} 人", "{n} called"], answered: ["已回复 {n} 人", "{n} answered"],
  unanswered: ["未回复：{who}", "no answer: {who}"], no_calls: ["未叫应", "nobody called"],
  sent: ["发送", "sent"], none_sent: ["未发送", "nothing sent"], inhibited: ["（被更高级别覆盖）", "(covered by a higher one)"],
  held: ["持续", "for"], ended: ["（已结束）", "(ended)"], transitions: ["预警过程", "Transitions"], deliveries: ["发送记录", "Deliveries"],
  acks: ["确认记录", "Acknowledgements"], time: ["时间", "time"], change: ["变化", "change"], grade: ["等级", "level"], value: ["数值", "value"],
  dest: ["渠道", "destination"], to: ["接收", "to"], why: ["类型", "why"], state: ["状态", "state"], tries: ["尝试", "attempts"],
  last_error: ["最近错误", "last error"], person: ["人员", "person"], tier: ["层级", "tier"], called_at: ["呼叫时间", "called"],
  answered_at: ["回复时间", "answered"], no_answer: ["未回复", "no answer"], nothing: ["无", "none"], ok: ["正常", "ok"],
  others: ["设备与系统通知", "Sensor and system notices"], chart_level: ["水位（米）", "level (m)"],
  chart_rain: ["{w}累计雨量（毫米）", "{w} rainfall (mm)"], fired: ["（触发预警的时段）", "(the window that fired)"],
  forecast: ["预报", "forecast"], dashed_crest: ["虚线：水量平衡预报，到达坝顶", "dashed: water-balance forecast, up to the crest"],
  dashed_peak: ["虚线：水量平衡预报，最高 {v} 米", "dashed: water-balance forecast, peak {v} m"], crest_line: ["坝顶", "crest"], min: ["{m}分钟", "{m} min"], hmin: ["{h}小时{m}分", "{h} h {m} min"],
  map_stations: ["测站", "Stations"], legend_pulse: ["闪烁：红色预警或漫坝", "pulsing: red or overtopping"],
  notices_title: ["通知", "Notices"],
  wall_clock_note: ["以下时间为实际发送、呼叫和回复的时刻（系统时钟）；预警与水位按监测数据时间（演示中为模拟暴雨时间）。",
    "Times below are when each message was sent, called or answered (system clock); warnings and levels are in reading time (the simulated storm's, in the demo)."], error: ["操作失败：{e}", "failed: {e}"],
  boxes: ["村村响广播：各村现在播放的内容", "Village loudspeakers: what each box plays now"],
  box_silent: ["无预警广播", "no warning on air"], expires: ["有效至 {t}", "until {t}"],
  box_history: ["收到 {n} 条", "{n} received"], calls_title: ["叫应：谁被呼叫，谁已回复", "Call-and-answer: who was called, who answered"],
  reply_code: ["回复码 {c}", "reply code {c}"], first_call: ["首次呼叫", "first call"], tier_n: ["第{n}轮升级", "escalation {n}"],
  sms_title: ["短信：每人收到的内容", "SMS: what each person received"], no_sms: ["暂无短信", "no SMS yet"],
  no_calls_yet: ["暂无叫应", "nobody called yet"], recorded: ["（演示：已记录，未真实发送）", "(demo: recorded, not sent)"],
  silence_title: ["静默该站通知", "Silence this station's notices"],
  silence_help: ["静默期间预警照常显示和记录，但不发送短信和广播；险情不会因静默而解除。",
    "While silenced, warnings are shown and recorded but no SMS or broadcast is sent; an incident never clears on a silence."],
  silence_for: ["时长", "for"], reason: ["原因", "reason"], silence_go: ["静默", "Silence"], silence_button: ["静默", "Silence"],
  h1: ["1小时", "1 hour"], h2: ["2小时", "2 hours"], h6: ["6小时", "6 hours"], h24: ["24小时", "24 hours"],
  silenced_until: ["静默中，至 {t}（{who}：{why}）", "silenced until {t} ({who}: {why})"], unsilence: ["解除静默", "End silence"],
  acked_via: ["{who} 经{via}确认", "acknowledged by {who} via {via}"],
};
const SEVERITY = { red: ["红色", "RED"], orange: ["橙色", "ORANGE"], yellow: ["黄色", "YELLOW"], blue: ["蓝色", "BLUE"], info: ["设备", "SENSOR"] };
const TRANSITIONS = {
  firing: ["发布", "raised"], escalated: ["升级", "raised"], downgraded: ["降级", "lowered"], resolved: ["结束", "ended"],
  raised: ["发布", "raised"], lowered: ["降级", "lowered"], updated: ["更新", "updated"], cleared: ["解除", "ended"],
};
const ROLES = { viewer: ["观察员", "viewer"], operator: ["值班员", "duty officer"], admin: ["管理员", "administrator"] };
const KINDS = { level: ["水位", "level", "米", "m"], flow: ["流量", "flow", "立方米/秒", "m³/s"], rain: ["雨量", "rain", "毫米", "mm"] };
const UNITS = { m: ["米", "m"], mm: ["毫米", "mm"], "m/h": ["米/小时", "m/h"], min: ["分钟", "min"], "m³/s": ["立方米/秒", "m³/s"] };
const HEALTH = { stale: ["中断", "silent"], stuck: ["卡滞", "stuck"], spike: ["突跳", "spike"], out_of_range: ["超量程", "out of range"] };
const DESTINATIONS = { sms: ["短信", "SMS"], broadcast: ["广播", "broadcast"], webhook: ["推送", "webhook"], kafka: ["消息队列", "Kafka"],
  console: ["控制台", "console"], influx: ["数据库", "InfluxDB"], recorder: ["记录", "recorder"] };
const STATES = { done: ["已送达", "delivered"], pending: ["待发送", "pending"], dead: ["失败", "failed"], silenced: ["已静默", "silenced"], retry: ["重试中", "retrying"] };
const NOTES = { reminder: ["提醒", "reminder"], resend: ["再次叫应", "resend"], escalation: ["叫应未复·升级报告", "escalation"],
  refresh: ["刷新", "refresh"], unsilenced: ["静默结束后补发", "after a silence"] };
const WINDOWS = { "1h": ["1小时", "1 h"], "3h": ["3小时", "3 h"], "6h": ["6小时", "6 h"], "24h": ["24小时", "24 h"], "1d": ["24小时", "24 h"] };
const MSG_TYPES = { Alert: ["发布", "issued"], Update: ["更新", "update"], Cancel: ["解除", "cancelled"] };
const VIA = { sms: ["短信", "SMS"], web: ["指挥台", "the board"], cli: ["命令行", "the command line"] };
const CALL_STATES = { unanswered: ["未回复", "unanswered"], closed: ["已结束", "closed"], calling: ["叫应中", "calling"], answered: ["已回复", "answered"], escalated: ["已升级", "escalated"], exhausted: ["无人回复", "nobody answered"] };
const ERRORS = [
  [/wrong name or password/, ["账号或密码错误", "wrong name or password"]],
  [/too many failed logins; try again in (\d+) s/, ["登录失败次数过多，请 {1} 秒后再试", "too many failed logins; try again in {1} s"]],
  [/needs the (\w+) role/, ["需要{role}权限", "needs the {role} role"]],
  [/log in first/, ["请先登录", "log in first"]],
  [/no (alert|incident|station|drill|silence) /, ["找不到该记录（可能已结束）", "not found (it may have ended)"]],
  [/body larger than/, ["内容过长", "too long"]],
];

const lang = { current: localStorage.getItem("fw-lang") === "en" ? "en" : "zh" };
const en = () => lang.current === "en";
const pick = (pair) => (pair ? pair[en() ? 1 : 0] : "");

function t(key, args = {}) {
  let text = pick(WORDS[key]) || key;
  for (const [k, v] of Object.entries(args)) text = text.replace(`{${k}}`, v);
  return text;
}
const sevWord = (s) => pick(SEVERITY[s]) || "";
const transWord = (s) => pick(TRANSITIONS[s]) || "";
const roleWord = (r) => pick(ROLES[r]) || "";
const unitWord = (u) => (UNITS[u] ? pick(UNITS[u]) : (u || ""));
const windowWord = (w) => pick(WINDOWS[w]) || "";
const destWord = (type) => pick(DESTINATIONS[type]) || (en() ? type : "其他渠道");
const stateWord = (s) => pick(STATES[s]) || (en() ? s : "其他");

/** An API error in the page's language (never the raw English on the Chinese page). */
function errorText(message) {
  for (const [pattern, pair] of ERRORS) {
    const m = String(message).match(pattern);
    if (m) {
      let text = pick(pair);
      text = text.replace("{1}", m[1] || "").replace("{role}", m[1] ? roleWord(m[1]) : "");
      return text;
    }
  }
  return t("error", { e: en() ? message : "请联系管理员" });
}
