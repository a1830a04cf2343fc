// Every label of the dashboard in Vietnamese and English, and the Vietnamese formats of
// numbers and times. Times are always shown in Vietnam time (Asia/Ho_Chi_Minh), whatever
// the browser's own zone: the plans, the reports and their deadlines are in it.
export const TEXT = {
  vi: {
    title: "Chỉ tiêu kinh tế số và IoT", token: "Mã truy cập", province: "Tỉnh/thành phố", date: "Ngày",
    load: "Xem", indicators: "Tiến độ chỉ tiêu", coverage: "Độ phủ theo xã, phường",
    filter: "Lọc theo tên", commune: "Xã, phường", devices: "Thiết bị", active: "Đang hoạt động",
    availability: "Độ sẵn sàng (%)", last_seen: "Lần cuối", gateways: "Gateway",
    readings: "Dữ liệu thiết bị", device: "Mã thiết bị", switch: "English", target: "mục tiêu",
    none: "chưa có số liệu", suppressed: "ẩn (quá ít hộ gia đình)", loaded: "Đã tải", error: "Lỗi",
    signin: "Đăng nhập", signout: "Đăng xuất", signed_in: "Đã đăng nhập", signed_out: "Đã đăng xuất",
    need_signin: "Nhập mã truy cập để đăng nhập",
    token_in_url: "Không nhận mã truy cập trong địa chỉ (đã xoá khỏi địa chỉ): hãy nhập vào ô đăng nhập",
    period: "Kỳ", month: "Tháng", half: "6 tháng", year: "Năm",
    nav: "Trang", national: "Toàn quốc", province_page: "Tỉnh", device_page: "Thiết bị",
    national_title: "So sánh các tỉnh, thành phố", indicator: "Chỉ tiêu", value: "Giá trị",
    target_col: "Mục tiêu (năm)", gap: "Khoảng cách", area: "Địa bàn", evidence: "Nguồn số liệu",
    denominator_source: "Nguồn mẫu số", map: "Bản đồ", map_colour: "Tô màu theo",
    filter_national: "Lọc tỉnh hoặc chỉ tiêu",
    not_comparable: "Không so sánh được", legend_none: "không có số liệu",
    breakdown_sector: "Thiết bị hoạt động theo lĩnh vực", breakdown_profile: "Thiết bị hoạt động theo loại",
    sector: "Lĩnh vực", profile: "Loại thiết bị", count: "Số lượng",
    gateway: "Gateway", status_col: "Trạng thái", online: "trực tuyến", offline: "ngoại tuyến",
    since: "từ", buffer_depth: "Hàng đợi", read_errors: "Lỗi đọc", version: "Phiên bản",
    id_conflict: "trùng mã gateway", reports: "Báo cáo", report_part: "Kỳ báo cáo",
    deadline: "Hạn nộp", report_status: "Tình trạng", download: "Tải về", as_of: "Số liệu tính đến",
    due: "chưa đến hạn", filed: "đã nộp", late: "quá hạn", on_time: "đúng hạn", filed_late: "nộp muộn",
    draft: "bản nháp, tính lại khi tải", households: "Hộ gia đình",
    commune_title: "Xã, phường", devices_in_commune: "Thiết bị trong xã, phường", position: "Vị trí",
    organisation: "Tổ chức", no_position: "chưa ghi toạ độ", range: "Khoảng thời gian",
    range_day: "1 ngày (từng số đo)", range_week: "7 ngày (theo giờ)", range_quarter: "90 ngày (theo ngày)",
    time: "Thời gian", no_readings: "Không có số liệu trong khoảng này", my_devices: "Thiết bị của tổ chức",
    role: "Vai trò", ministry: "Bộ, ngành", province_role: "Tỉnh", operator: "Vận hành",
    organisation_role: "Tổ chức", all_provinces: "toàn quốc", met: "đạt", not_met: "chưa đạt",
    on_path: "đúng lộ trình", behind: "chậm so với lộ trình", path: "lộ trình đến mục tiêu",
    plan_line: "kế hoạch", line: "dòng", history: "Diễn biến",
    telemetry: "đo tự động", platform_use: "dùng nền tảng", declaration: "kê khai", aggregate: "số tổng hợp",
    agriculture: "Nông nghiệp", aquaculture: "Thuỷ sản", environment: "Môi trường", energy: "Năng lượng",
    water: "Nước", industry: "Công nghiệp", urban: "Đô thị", back_province: "Về trang tỉnh",
    target_elsewhere: "mục tiêu cho địa bàn kế hoạch (xem trang tỉnh)", mean: "trung bình",
    increase: "tăng thêm",
    show_device: "Xem thiết bị", unknown: "không rõ (không có nhịp tim gần đây)",
  },
  en: {
    title: "Digital economy and IoT indicators", token: "API token", province: "Province", date: "Date",
    load: "Show", indicators: "Indicator progress", coverage: "Coverage by commune",
    filter: "Filter by name", commune: "Commune/ward", devices: "Devices", active: "Active",
    availability: "Availability (%)", last_seen: "Last seen", gateways: "Gateways",
    readings: "Device readings", device: "Device id", switch: "Tiếng Việt", target: "target",
    none: "no data yet", suppressed: "hidden (too few households)", loaded: "Loaded", error: "Error",
    signin: "Sign in", signout: "Sign out", signed_in: "Signed in", signed_out: "Signed out",
    need_signin: "Enter your API token to sign in",
    token_in_url: "Tokens are not accepted in addresses (removed from the address): use the sign-in form",
    period: "Period", month: "Month", half: "Half-year",
    year: "Year", nav: "Pages", national: "National", province_page: "Province", device_page: "Device",
    national_title: "Provinces compared", indicator: "Indicator", value: "Value",
    target_col: "Target (year)", gap: "Gap", area: "Area", evidence: "Evidence",
    denominator_source: "Denominator source", map: "Map", map_colour: "Colour by",
    filter_national: "Filter province or indicator",
    not_comparable: "Not comparable", legend_none: "no data",
    breakdown_sector: "Active devices by sector", breakdown_profile: "Active devices by profile",
    sector: "Sector", profile: "Device profile", count: "Count",
    gateway: "Gateway", status_col: "Status", online: "online", offline: "offline",
    since: "since", buffer_depth: "Buffer depth", read_errors: "Read errors", version: "Version",
    id_conflict: "gateway id shared", reports: "Reports", report_part: "Report",
    deadline: "Deadline", report_status: "State", download: "Download", as_of: "Figures as of",
    due: "due", filed: "filed", late: "late", on_time: "on time", filed_late: "filed late",
    draft: "draft, computed at download", households: "Households",
    commune_title: "Commune/ward", devices_in_commune: "Devices in the commune", position: "Position",
    organisation: "Organisation", no_position: "no coordinates", range: "Range",
    range_day: "1 day (raw readings)", range_week: "7 days (hourly)", range_quarter: "90 days (daily)",
    time: "Time", no_readings: "No readings in this range", my_devices: "The organisation's devices",
    role: "Role", ministry: "Ministry", province_role: "Province", operator: "Operator",
    organisation_role: "Organisation", all_provinces: "all provinces", met: "met", not_met: "not met",
    on_path: "on path", behind: "behind the path", path: "path to the target",
    plan_line: "plan", line: "line", history: "History",
    telemetry: "telemetry", platform_use: "platform use", declaration: "declaration", aggregate: "aggregate",
    agriculture: "Agriculture", aquaculture: "Aquaculture", environment: "Environment", energy: "Energy",
    water: "Water", industry: "Industry", urban: "Urban", back_province: "Back to the province",
    target_elsewhere: "target set for a plan area (see the province page)", mean: "mean",
    increase: "increase",
    show_device: "Show device", unknown: "unknown (no recent heartbeat)",
  },
};

export const LOCALE = { vi: "vi-VN", en: "en-GB" };
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
