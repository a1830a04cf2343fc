// Every label of the dashboard in Vietnamese and English, and the Vietnamese formats of
// numbers and times. Times are always shown in Vietnam time (Asia/Ho_Chi_Minh), whatever
// the browser's own zone: the plans, the reports and their deadlines are in it.

// Each label once, with its Vietnamese and English side by side.
const MESSAGES = {
  title: { vi: "Chỉ tiêu kinh tế số và IoT", en: "Digital economy and IoT indicators" },
  token: { vi: "Mã truy cập", en: "API token" },
  province: { vi: "Tỉnh/thành phố", en: "Province" },
  date: { vi: "Ngày", en: "Date" },
  load: { vi: "Xem", en: "Show" },
  indicators: { vi: "Tiến độ chỉ tiêu", en: "Indicator progress" },
  coverage: { vi: "Độ phủ theo xã, phường", en: "Coverage by commune" },
  filter: { vi: "Lọc theo tên", en: "Filter by name" },
  commune: { vi: "Xã, phường", en: "Commune/ward" },
  devices: { vi: "Thiết bị", en: "Devices" },
  active: { vi: "Đang hoạt động", en: "Active" },
  availability: { vi: "Độ sẵn sàng (%)", en: "Availability (%)" },
  last_seen: { vi: "Lần cuối", en: "Last seen" },
  gateways: { vi: "Gateway", en: "Gateways" },
  readings: { vi: "Dữ liệu thiết bị", en: "Device readings" },
  device: { vi: "Mã thiết bị", en: "Device id" },
  switch: { vi: "English", en: "Tiếng Việt" },
  target: { vi: "mục tiêu", en: "target" },
  none: { vi: "chưa có số liệu", en: "no data yet" },
  suppressed: { vi: "ẩn (quá ít hộ gia đình)", en: "hidden (too few households)" },
  loaded: { vi: "Đã tải", en: "Loaded" },
  error: { vi: "Lỗi", en: "Error" },
  signin: { vi: "Đăng nhập", en: "Sign in" },
  signout: { vi: "Đăng xuất", en: "Sign out" },
  signed_in: { vi: "Đã đăng nhập", en: "Signed in" },
  signed_out: { vi: "Đã đăng xuất", en: "Signed out" },
  need_signin: { vi: "Nhập mã truy cập để đăng nhập", en: "Enter your API token to sign in" },
  token_in_url: {
    vi: "Không nhận mã truy cập trong địa chỉ (đã xoá khỏi địa chỉ): hãy nhập vào ô đăng nhập",
    en: "Tokens are not accepted in addresses (removed from the address): use the sign-in form",
  },
  period: { vi: "Kỳ", en: "Period" },
  month: { vi: "Tháng", en: "Month" },
  half: { vi: "6 tháng", en: "Half-year" },
  year: { vi: "Năm", en: "Year" },
  nav: { vi: "Trang", en: "Pages" },
  national: { vi: "Toàn quốc", en: "National" },
  province_page: { vi: "Tỉnh", en: "Province" },
  device_page: { vi: "Thiết bị", en: "Device" },
  national_title: { vi: "So sánh các tỉnh, thành phố", en: "Provinces compared" },
  indicator: { vi: "Chỉ tiêu", en: "Indicator" },
  value: { vi: "Giá trị", en: "Value" },
  target_col: { vi: "Mục tiêu (năm)", en: "Target (year)" },
  gap: { vi: "Khoảng cách", en: "Gap" },
  area: { vi: "Địa bàn", en: "Area" },
  evidence: { vi: "Nguồn số liệu", en: "Evidence" },
  denominator_source: { vi: "Nguồn mẫu số", en: "Denominator source" },
  map: { vi: "Bản đồ", en: "Map" },
  map_colour: { vi: "Tô màu theo", en: "Colour by" },
  filter_national: { vi: "Lọc tỉnh hoặc chỉ tiêu", en: "Filter province or indicator" },
  not_comparable: { vi: "Không so sánh được", en: "Not comparable" },
  legend_none: { vi: "không có số liệu", en: "no data" },
  breakdown_sector: { vi: "Thiết bị hoạt động theo lĩnh vực", en: "Active devices by sector" },
  breakdown_profile: { vi: "Thiết bị hoạt động theo loại", en: "Active devices by profile" },
  sector: { vi: "Lĩnh vực", en: "Sector" },
  profile: { vi: "Loại thiết bị", en: "Device profile" },
  count: { vi: "Số lượng", en: "Count" },
  gateway: { vi: "Gateway", en: "Gateway" },
  status_col: { vi: "Trạng thái", en: "Status" },
  online: { vi: "trực tuyến", en: "online" },
  offline: { vi: "ngoại tuyến", en: "offline" },
  since: { vi: "từ", en: "since" },
  buffer_depth: { vi: "Hàng đợi", en: "Buffer depth" },
  read_errors: { vi: "Lỗi đọc", en: "Read errors" },
  version: { vi: "Phiên bản", en: "Version" },
  id_conflict: { vi: "trùng mã gateway", en: "gateway id shared" },
  reports: { vi: "Báo cáo", en: "Reports" },
  report_part: { vi: "Kỳ báo cáo", en: "Report" },
  deadline: { vi: "Hạn nộp", en: "Deadline" },
  report_status: { vi: "Tình trạng", en: "State" },
  download: { vi: "Tải về", en: "Download" },
  as_of: { vi: "Số liệu tính đến", en: "Figures as of" },
  due: { vi: "chưa đến hạn", en: "due" },
  filed: { vi: "đã nộp", en: "filed" },
  late: { vi: "quá hạn", en: "late" },
  on_time: { vi: "đúng hạn", en: "on time" },
  filed_late: { vi: "nộp muộn", en: "filed late" },
  draft: { vi: "bản nháp, tính lại khi tải", en: "draft, computed at download" },
  households: { vi: "Hộ gia đình", en: "Households" },
  commune_title: { vi: "Xã, phường", en: "Commune/ward" },
  devices_in_commune: { vi: "Thiết bị trong xã, phường", en: "Devices in the commune" },
  position: { vi: "Vị trí", en: "Position" },
  organisation: { vi: "Tổ chức", en: "Organisation" },
  no_position: { vi: "chưa ghi toạ độ", en: "no coordinates" },
  range: { vi: "Khoảng thời gian", en: "Range" },
  range_day: { vi: "1 ngày (từng số đo)", en: "1 day (raw readings)" },
  range_week: { vi: "7 ngày (theo giờ)", en: "7 days (hourly)" },
  range_quarter: { vi: "90 ngày (theo ngày)", en: "90 days (daily)" },
  time: { vi: "Thời gian", en: "Time" },
  no_readings: { vi: "Không có số liệu trong khoảng này", en: "No readings in this range" },
  my_devices: { vi: "Thiết bị của tổ chức", en: "The organisation's devices" },
  role: { vi: "Vai trò", en: "Role" },
  ministry: { vi: "Bộ, ngành", en: "Ministry" },
  province_role: { vi: "Tỉnh", en: "Province" },
  operator: { vi: "Vận hành", en: "Operator" },
  organisation_role: { vi: "Tổ chức", en: "Organisation" },
  all_provinces: { vi: "toàn quốc", en: "all provinces" },
  met: { vi: "đạt", en: "met" },
  not_met: { vi: "chưa đạt", en: "not met" },
  on_path: { vi: "đúng lộ trình", en: "on path" },
  behind: { vi: "chậm so với lộ trình", en: "behind the path" },
  path: { vi: "lộ trình đến mục tiêu", en: "path to the target" },
  plan_line: { vi: "kế hoạch", en: "plan" },
  line: { vi: "dòng", en: "line" },
  history: { vi: "Diễn biến", en: "History" },
  telemetry: { vi: "đo tự động", en: "telemetry" },
  platform_use: { vi: "dùng nền tảng", en: "platform use" },
  declaration: { vi: "kê khai", en: "declaration" },
  aggregate: { vi: "số tổng hợp", en: "aggregate" },
  agriculture: { vi: "Nông nghiệp", en: "Agriculture" },
  aquaculture: { vi: "Thuỷ sản", en: "Aquaculture" },
  environment: { vi: "Môi trường", en: "Environment" },
  energy: { vi: "Năng lượng", en: "Energy" },
  water: { vi: "Nước", en: "Water" },
  industry: { vi: "Công nghiệp", en: "Industry" },
  urban: { vi: "Đô thị", en: "Urban" },
  back_province: { vi: "Về trang tỉnh", en: "Back to the province" },
  target_elsewhere: {
    vi: "mục tiêu cho địa bàn kế hoạch (xem trang tỉnh)",
    en: "target set for a plan area (see the province page)",
  },
  mean: { vi: "trung bình", en: "mean" },
  increase: { vi: "tăng thêm", en: "increase" },
  show_device: { vi: "Xem thiết bị", en: "Show device" },
  unknown: { vi: "không rõ (không có nhịp tim gần đây)", en: "unknown (no recent heartbeat)" },
};

export const LOCALE = { vi: "vi-VN", en: "en-GB" };

// TEXT[lang][key], as the dashboard reads it. A label without a text in exactly the
// languages of LOCALE stops the module at load (and so every page test) instead of showing
// its key in one language.
const LANGUAGES = Object.keys(LOCALE);
export const TEXT = Object.fromEntries(LANGUAGES.map((lang) => [lang, {}]));
for (const [key, texts] of Object.entries(MESSAGES)) {
  const given = Object.keys(texts);
  if (given.length !== LANGUAGES.length || LANGUAGES.some((lang) => !texts[lang])) {
    throw new Error(`i18n.js: "${key}" needs a text in each of ${LANGUAGES}, has ${given}`);
  }
  for (const lang of LANGUAGES) TEXT[lang][key] = texts[lang];
}

const ZONE = "Asia/Ho_Chi_Minh";

export function formatNumber(lang, value, digits = 1) {
  if (value === null || value === undefined) return "–";
  return new Intl.NumberFormat(LOCALE[lang], { maximumFractionDigits: digits }).format(value);
}

export function formatTime(lang, value) {
  if (value === null || value === undefined || value === "") return "–";
  const date = typeof value === "number" ? new Date(value) : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return new Intl.DateTimeFormat(LOCALE[lang], { timeZone: ZONE, dateStyle: "short", timeStyle: "short" })
    .format(date);
}

export function formatDay(lang, value) {
  if (!value) return "–";
  // A plain day (2026-03-10) is a day of Vietnam: noon there is the same day everywhere.
  const date = /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T12:00:00+07:00`) : new Date(value);
  return new Intl.DateTimeFormat(LOCALE[lang], { timeZone: ZONE, dateStyle: "short" }).format(date);
}

// Ticks of a time axis: short date (and hour when the range is short), Vietnam time.
export function formatTick(lang, ms, spanMs) {
  const options = spanMs <= 2 * 86400000 ? { hour: "2-digit", minute: "2-digit" }
    : { day: "2-digit", month: "2-digit" };
  return new Intl.DateTimeFormat(LOCALE[lang], { timeZone: ZONE, ...options }).format(new Date(ms));
}

// Today in Vietnam, as the API's dates are written (YYYY-MM-DD).
export function todayInVietnam() {
  return new Intl.DateTimeFormat("en-CA", { timeZone: ZONE }).format(new Date());
}
