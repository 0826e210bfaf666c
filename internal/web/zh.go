package web

import (
	"regexp"
	"strings"
)

// The entry checks are the CSV import's (internal/csvio, leave), whose messages are English for the
// command line and the API; the pages speak Chinese, so each known message is put into Chinese
// here. A message without a translation is shown as it is rather than hidden.
var zhMessages = []struct {
	re *regexp.Regexp
	zh string
}{
	// An empty field first: "请填写", not a quoted "".
	{regexp.MustCompile(`^unknown staff_id ""(: not in the staff file)?$`), "请填写工号"},
	{regexp.MustCompile(`^unknown leave type "".*$`), "请选择假别"},
	{regexp.MustCompile(`^(\w+: )?bad time "": want YYYY-MM-DD HH:MM:SS$`), "请填写时间"},
	{regexp.MustCompile(`^bad date "": want YYYY-MM-DD$`), "请填写日期"},
	{regexp.MustCompile(`^observation "" is neither present nor absent$`), "请选择巡查所见"},
	{regexp.MustCompile(`^unknown staff_id "([^"]*)"(: not in the staff file)?$`), "工号“$1”不在人员名单中"},
	{regexp.MustCompile(`^staff_id is empty$`), "请填写工号"},
	{regexp.MustCompile(`^(\w+): bad time "([^"]*)": want YYYY-MM-DD HH:MM:SS$`), "时间“$2”格式不对，应为 年-月-日 时:分"},
	{regexp.MustCompile(`^(\w+): (.*) is empty$`), "请填写此项"},
	{regexp.MustCompile(`^bad time "([^"]*)": want YYYY-MM-DD HH:MM:SS$`), "时间“$1”格式不对，应为 年-月-日 时:分"},
	{regexp.MustCompile(`^bad date "([^"]*)": want YYYY-MM-DD$`), "日期“$1”不对，应为 年-月-日"},
	{regexp.MustCompile(`^unknown leave type "([^"]*)".*$`), "未知的假别“$1”，请从列表中选择"},
	{regexp.MustCompile(`^end (.+) is before start (.+)$`), "结束时间 $1 早于开始时间 $2"},
	{regexp.MustCompile(`^to (.+) is before from (.+)$`), "结束时间 $1 早于开始时间 $2"},
	{regexp.MustCompile(`^approvals: unknown approval token "([^"]*)".*$`), "审批手续中有未知项“$1”"},
	{regexp.MustCompile(`^approvals: (.*)$`), "审批手续有误，请重新勾选"},
	{regexp.MustCompile(`^observation "([^"]*)" is neither present nor absent$`), "巡查所见“$1”应为在岗或不在岗"},
	{regexp.MustCompile(`^reason is empty.*$`), "请填写原因"},
	{regexp.MustCompile(`^recorded_by is empty.*$`), "请填写记录人"},
	{regexp.MustCompile(`^too long \(at most (\d+) bytes\)$`), "内容过长（最多 $1 字节）"},
	{regexp.MustCompile(`^unknown clock "([^"]*)"$`), "打卡机“$1”未在配置中"},
	{regexp.MustCompile(`^segment must be am or pm$`), "请选择上午或下午"},
	{regexp.MustCompile(`^unknown finding "([^"]*)"$`), "未知的考勤结果“$1”"},
	{regexp.MustCompile(`^(\w+) must be a whole number from 0 to (\d+)$`), "应为 0 到 $2 的整数"},
	{regexp.MustCompile(`^LEAVE needs a leave type$`), "结果为请假时须选择假别"},
	{regexp.MustCompile(`^a leave type goes with LEAVE only$`), "只有结果为请假时才选择假别"},
	{regexp.MustCompile(`^the month of (\S+) is not closed.*$`), "$1 所在月份尚未结账：请改为录入假条、巡查记录或故障报告"},
	{regexp.MustCompile(`^no result for (\S+) (\S+) (\S+)$`), "没有 $1 在 $2 $3 的考勤结果"},
	{regexp.MustCompile(`^(?:[a-z ]+ \d+: )?(\d{4}-\d{2}) 本月已结账，请用更正.*$`), "$1 本月已结账，请用更正"},
}

// zh puts an entry problem (possibly several joined by "；") into Chinese.
func zh(msg string) string {
	parts := strings.Split(msg, "；")
	for i, p := range parts {
		for _, m := range zhMessages {
			if m.re.MatchString(p) {
				parts[i] = m.re.ReplaceAllString(p, m.zh)
				break
			}
		}
	}
	return strings.Join(parts, "；")
}

// errorTitles are the error pages' headings by status.
var errorTitles = map[int]string{
	400: "请求有误", 403: "无权访问", 404: "页面不存在", 405: "不支持的操作", 409: "操作冲突", 413: "提交内容过大",
	415: "不支持的提交格式", 422: "填写有误", 429: "请求过于频繁", 500: "服务器内部错误", 503: "服务暂时不可用",
}

func errorTitle(code int) string {
	if t, ok := errorTitles[code]; ok {
		return t
	}
	return "出错了"
}

// actionNames are the audit log's actions in words; "action entity" before "action" alone.
var actionNames = map[string]string{
	"add": "录入", "add user": "新增账号", "add staff": "新增工作人员", "add window": "新增窗口", "add unit": "新增单位",
	"cancel": "撤销", "close": "结账", "correct": "更正", "enroll": "登记打卡机用户", "file": "提交申请",
	"import": "导入", "login": "登录", "logout": "退出登录", "phone_notice": "电话报备", "set": "设定",
	"passwd": "修改密码", "reset_password": "重置密码", "disable": "停用", "enable": "启用", "approve": "批准", "reject": "驳回",
	"update": "修改", "update user": "修改账号", "update staff": "修改工作人员", "move": "调动", "end": "离岗",
	"update window": "修改窗口", "sync_time": "校时", "read_now": "立即读取",
}

// entityNames are the kinds of record in the audit log.
var entityNames = map[string]string{
	"clock": "打卡机", "enrollment": "打卡机用户登记", "failure_report": "打卡机故障报告", "leave_balance": "假期额度",
	"leave_slip": "请假条", "month": "月度结账", "request": "请假申请", "segment_result": "考勤结果", "session": "登录",
	"staff": "工作人员", "user": "账号", "patrol": "巡查记录", "manual_signin": "人工签到", "window": "窗口", "unit": "单位",
}

// fieldNames are the fields of the audit log's values.
var fieldNames = map[string]string{
	"staff_id": "工号", "name": "姓名", "window": "窗口", "unit": "单位", "type": "假别", "leave_type": "假别", "start": "开始", "end": "结束",
	"from": "开始", "to": "结束", "at": "时间", "observation": "巡查所见", "clock": "打卡机", "filed_at": "提交时间",
	"reported_at": "报告时间", "approvals": "审批", "role": "角色", "reason": "原因", "note": "备注", "recorded_by": "记录人",
	"cancelled_at": "撤销时间", "rows": "行数", "added": "新增", "updated": "更新", "unchanged": "未变", "deactivated": "离岗",
	"email": "电子邮箱", "kind": "类别", "punch": "打卡", "step": "步骤", "findings": "结果", "segment": "时段", "day": "日期",
	"late_minutes": "迟到分钟", "early_minutes": "早退分钟", "off_post": "脱岗次数", "start_date": "入职日期", "end_date": "离岗日期",
	"active": "在岗", "disabled": "停用", "approve": "批准", "comment": "意见", "year": "年度", "days": "天数", "closed_at": "结账时间",
	"steps": "审批步骤", "state": "状态", "attachments": "附件", "stamp": "盖章", "next": "下一步", "request": "申请",
	"from_window": "原窗口", "to_window": "新窗口", "from_unit": "原单位", "to_unit": "新单位", "user": "账号", "addr": "来源地址",
}

// plainValues are the audit log's values that are words rather than JSON.
var plainValues = map[string]string{"passwdd": "已修改", "disabled": "已停用", "disabled\n": "已停用", "enabled": "已启用",
	"reset_passwordd": "已重置", "closed": "已结账"}
