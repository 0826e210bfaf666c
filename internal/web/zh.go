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
	{regexp.MustCompile(`^unknown staff_id ("[^"]*")(: not in the staff file)?$`), "工号 $1 不在人员名单中"},
	{regexp.MustCompile(`^staff_id is empty$`), "请填写工号"},
	{regexp.MustCompile(`^(\w+): bad time ("[^"]*"): want YYYY-MM-DD HH:MM:SS$`), "时间 $2 格式不对，应为 年-月-日 时:分"},
	{regexp.MustCompile(`^(\w+): (.*) is empty$`), "请填写此项"},
	{regexp.MustCompile(`^bad time ("[^"]*"): want YYYY-MM-DD HH:MM:SS$`), "时间 $1 格式不对，应为 年-月-日 时:分"},
	{regexp.MustCompile(`^bad date ("[^"]*"): want YYYY-MM-DD$`), "日期 $1 格式不对，应为 年-月-日"},
	{regexp.MustCompile(`^unknown leave type ("[^"]*").*$`), "未知的假别 $1"},
	{regexp.MustCompile(`^end (.+) is before start (.+)$`), "结束时间 $1 早于开始时间 $2"},
	{regexp.MustCompile(`^to (.+) is before from (.+)$`), "结束时间 $1 早于开始时间 $2"},
	{regexp.MustCompile(`^approvals: unknown approval token ("[^"]*").*$`), "审批手续中有未知项 $1"},
	{regexp.MustCompile(`^approvals: (.*)$`), "审批手续有误：$1"},
	{regexp.MustCompile(`^observation ("[^"]*") is neither present nor absent$`), "巡查结果 $1 应为在岗或不在岗"},
	{regexp.MustCompile(`^reason is empty.*$`), "请填写原因"},
	{regexp.MustCompile(`^recorded_by is empty.*$`), "请填写记录人"},
	{regexp.MustCompile(`^too long \(at most (\d+) bytes\)$`), "内容过长（最多 $1 字节）"},
	{regexp.MustCompile(`^unknown clock ("[^"]*")$`), "未知的考勤机 $1"},
	{regexp.MustCompile(`^segment must be am or pm$`), "时段应为上午或下午"},
	{regexp.MustCompile(`^unknown finding ("[^"]*")$`), "未知的考勤结果代码 $1"},
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
