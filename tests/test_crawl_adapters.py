"""Discovery adapters on small pages written for these tests: what each CMS family's
list pages lead to (reports, further list pages, attachments)."""

from __future__ import annotations

import json

from scraper.adapters import discover
from scraper.adapters.hanweb import Hanweb

BASE = "http://www.qingshan.example/zwgk/nb/index.html"


def _page(body: str) -> str:
    return f"<html><head><meta charset='utf-8'></head><body>{body}</body></html>"


def test_trs_page_count_in_every_createpagehtml_shape():
    links = ('<a href="./202301/t20230115_88.html">青山市2022年政府信息公开工作年度报告</a>'
             '<a href="./202212/t20221201_87.html">关于做好2022年政府信息公开工作年度报告的通知</a>'
             '<a href="./202203/t20220301_86.html">青山市2022年政府工作报告</a>')
    found = discover(BASE, _page(links + '<script>createPageHTML(7, 0, "index", "html");</script>'))
    assert list(found.lists) == [f"http://www.qingshan.example/zwgk/nb/index_{n}.html" for n in range(1, 7)]
    assert list(found.reports) == ["http://www.qingshan.example/zwgk/nb/202301/t20230115_88.html"]
    found = discover(BASE, _page("<div id='page_div'></div><script>createPageHTML('page_div', 3, 0, 'index', "
                                 "'shtml', 40);</script>"))
    assert list(found.lists) == ["http://www.qingshan.example/zwgk/nb/index_1.shtml",
                                 "http://www.qingshan.example/zwgk/nb/index_2.shtml"]
    found = discover(BASE, _page("<script>var countPage = 2; var currentPage = 0;</script>"))
    assert list(found.lists) == ["http://www.qingshan.example/zwgk/nb/index_1.html"]


COLUMN = """<div id="4401"><script type="text/xml"><datastore>
<nextgroup><![CDATA[<a href="/module/web/jpage/dataproxy.jsp?page=1&amp;appid=1&amp;webid=3&amp;path=/&amp;columnid=77&amp;unitid=4401&amp;webname=%E9%9D%92&amp;permissiontype=0"></a>]]></nextgroup>
<recordset>
<record><![CDATA[<li><a href="/art/2023/1/10/art_77_501.html" title="青山县2022年政府信息公开工作年度报告">青山县2022年政府信息…</a></li>]]></record>
<record><![CDATA[<li><a href="/art/2022/6/1/art_77_500.html" title="青山县政府信息公开指南">青山县政府信息公开指南</a></li>]]></record>
<record><![CDATA[<li><a href="/art/2022/1/12/art_77_499.html">青山县2021年政府信息公开工作年度报告</a></li>]]></record>
</recordset></datastore></script></div>
<script>$('#4401').jpage({ dataStore: dataStore, proxyUrl: '/module/web/jpage/dataproxy.jsp', perPage: 3,
totalRecord: 11, groupSize: 1 });</script>"""


def test_hanweb_inline_records_and_dataproxy_groups():
    url = "http://www.qingshan.example/col/col77/index.html"
    found = discover(url, _page(COLUMN))
    assert list(found.reports) == ["http://www.qingshan.example/art/2023/1/10/art_77_501.html",
                                   "http://www.qingshan.example/art/2022/1/12/art_77_499.html"]
    groups = list(found.lists)
    tail = "&perpage=3&page=1&appid=1&webid=3&path=%2F&columnid=77&unitid=4401&webname=%E9%9D%92&permissiontype=0"
    proxy = "http://www.qingshan.example/module/web/jpage/dataproxy.jsp"
    assert groups == [f"{proxy}?startrecord=4&endrecord=6{tail}", f"{proxy}?startrecord=7&endrecord=9{tail}",
                      f"{proxy}?startrecord=10&endrecord=11{tail}"]
    # a group's answer: its records are reports, and the groups after it are the same URLs
    answer = ("<?xml version='1.0' encoding='utf-8'?><datastore><totalrecord>11</totalrecord><recordset>"
              "<record><![CDATA[<li><a href='/art/2021/1/9/art_77_400.html'>青山县2020年政府信息公开工作年度报告</a></li>]]>"
              "</record></recordset></datastore>")
    found = discover(groups[0], answer)
    assert list(found.reports) == ["http://www.qingshan.example/art/2021/1/9/art_77_400.html"]
    assert list(found.lists) == groups[1:]
    assert Hanweb().groups(groups[-1], answer) == []  # the last group leads nowhere


def test_hanweb_column_without_jpage_settings_has_no_groups():
    assert Hanweb().groups("http://h.example/col/col1/index.html", _page("<datastore></datastore>")) == []


def test_next_page_links_and_page_parameters():
    page = _page('<a href="list_2.html">下一页</a><a href="list.jsp?page=3">3</a>'
                 '<a href="/other/col/list_2.html">下一页</a><a href="http://elsewhere.example/?page=2">2</a>'
                 '<a href="index.html">1</a>')
    found = discover(BASE, page)
    assert list(found.lists) == ["http://www.qingshan.example/zwgk/nb/list_2.html",
                                 "http://www.qingshan.example/zwgk/nb/list.jsp?page=3",
                                 "http://elsewhere.example/?page=2"]  # off-host links are dropped by the crawl


def test_reports_by_link_text_or_title_and_attachments():
    page = _page('<a href="a.html" title="青山县2021年政府信息公开工作年度报告">青山县2021年…</a>'
                 '<a href="nb2022.pdf">青山县2022年政府信息公开年报</a>'
                 '<a href="/files/form.doc">政府信息公开申请表</a><a href="t.xlsx">附表</a>'
                 '<a href="b.html">青山县2022年政府工作报告</a>'
                 '<a href="c.html">关于2022年政府信息公开工作年度报告的说明</a>')
    found = discover(BASE, page)
    assert list(found.reports) == ["http://www.qingshan.example/zwgk/nb/a.html",
                                   "http://www.qingshan.example/zwgk/nb/nb2022.pdf"]
    assert list(found.attachments) == ["http://www.qingshan.example/files/form.doc",
                                       "http://www.qingshan.example/zwgk/nb/t.xlsx"]


def test_gkmlpt_api_pages_and_post_pages():
    api = "http://www.gd.example/gkmlpt/api/all/2701?page=1&sid=755"
    body = json.dumps({"total": 45, "articles": [
        {"title": "某区2022年政府信息公开工作年度报告", "url": "http://www.gd.example/gkmlpt/content/1/2/post_1001.html"},
        {"title": "某区政府信息公开指南", "url": "/gkmlpt/content/1/2/post_1000.html"}] + [
        {"title": f"通知{i}", "url": f"/x/{i}"} for i in range(18)]}, ensure_ascii=False)
    found = discover(api, body)
    assert list(found.reports) == ["http://www.gd.example/gkmlpt/content/1/2/post_1001.html"]
    assert list(found.lists) == ["http://www.gd.example/gkmlpt/api/all/2701?page=2&sid=755"]
    last = discover("http://www.gd.example/gkmlpt/api/all/2701?page=3&sid=755", body)
    assert list(last.lists) == []  # 3 pages of 20 cover 45
    listing = _page('<a href="./content/post_9472698.html">海珠区某街道2022年政府信息公开工作年度报告</a>')
    assert list(discover("http://www.hz.example/zwgk/zfxxgknb/jd/", listing).reports) == [
        "http://www.hz.example/zwgk/zfxxgknb/jd/content/post_9472698.html"]


def test_garbage_never_raises():
    for text in ("", "\x00\x01", "<a href='javascript:void(0)'>下一页</a>", "{not json", "<datastore><nextgroup>",
                 "<script>createPageHTML(</script>", "<script>createPageHTML(99999999999, 0, 'index', 'html')</script>"):
        found = discover("http://x.example/gkmlpt/api/all/1?page=x", text)
        assert len(found.lists) <= 500


def test_trs_lists_written_by_script():
    script = """<ul id="list"></ul><script>
    var items = [];
    items.push({url: "./202301/t20230105_5901300.html", title: "青山县卫生健康委员会2022年政府信息公开工作年度报告"});
    items.push({url: "./202211/t20221101_5800001.html", title: "青山县卫生健康委员会关于调整门诊时间的通知"});
    var str_1 = "./202201/t20220110_5600001.html"; var str_3 = "青山县卫生健康委员会2021年政府信息公开工作年度报告";
    document.write("<li><a href='" + str_1 + "'>" + str_3 + "</a></li>");
    createPageHTML(1, 0, "index", "html");
    </script>"""
    found = discover(BASE, _page(script))
    assert sorted(found.reports) == ["http://www.qingshan.example/zwgk/nb/202201/t20220110_5600001.html",
                                     "http://www.qingshan.example/zwgk/nb/202301/t20230105_5901300.html"]


def test_report_link_texts():
    from scraper.adapters.base import is_report_link

    assert is_report_link("青山市民政局2022年政府信息公开工作年度报告")
    assert is_report_link("青山县2021年政府信息公开年报")
    assert is_report_link("青山市民政局2022年政府信息公开工...")  # a list's truncated text, no title
    assert is_report_link("青山市民政局关于公布2021年政府信息公开工作年度报告的通知")  # carries the report
    assert not is_report_link("青山市民政局关于做好2021年政府信息公开工作年度报告编制工作的通知")
    assert not is_report_link("青山市2022年政府工作报告")
    assert not is_report_link("青山县政府信息公开指南")


def test_attachments_shown_through_a_viewer_are_found():
    page = _page('<iframe src="/uploads/2023/nb2022.pdf" title="年度报告"></iframe>'
                 '<embed src="../files/nb2021.docx">'
                 '<a href="/pdfjs/web/viewer.html?file=/uploads/2022/nb2021.pdf">在线预览</a>')
    found = discover(BASE, page)
    assert set(found.attachments) >= {"http://www.qingshan.example/uploads/2023/nb2022.pdf",
                                      "http://www.qingshan.example/zwgk/files/nb2021.docx",
                                      "http://www.qingshan.example/uploads/2022/nb2021.pdf"}


def test_links_read_from_the_report_parsers_tree_are_the_same():
    """The crawl reads a report page's links from the tree the report parser built (no
    second parse): base href, link text in nested markup or in a title, a comment inside
    a link, viewers and embeds must come out as from the page's text."""
    import parsers

    page = ("<html><head><meta charset='gbk'><base href='/zwgk/'><script>var a = '<a href=x.html>';</script></head>"
            "<body><a href='nb/2023.html'><span>青山市2022年</span>政府信息公开<!-- 注 -->工作年度报告</a>"
            "<a href='nb/2022.html' title='青山市2021年政府信息公开工作年度报告'>2021年…</a>"
            "<a href='index_1.html'>下一页</a><iframe src='/uploads/nb.pdf'></iframe>"
            "<a href='/pdfjs/web/viewer.html?file=/uploads/2022/nb2021.pdf'>预览</a>"
            "<table><tr><td>一</td><td><a href='files/t.xlsx'>附件</a></td></tr></table></body></html>")
    found = []  # read inside the callback: the parse rewrites the tree afterwards
    parsers.parse(page.encode("gbk"), url=BASE, content_type="text/html",
                  on_tree=lambda tree: found.append(discover(BASE, page, tree)))
    assert len(found) == 1
    from_tree = found[0]
    assert from_tree == discover(BASE, page)
    assert "http://www.qingshan.example/zwgk/nb/2023.html" in from_tree.reports
    assert from_tree.reports["http://www.qingshan.example/zwgk/nb/2022.html"] == "青山市2021年政府信息公开工作年度报告"
    assert set(from_tree.attachments) >= {"http://www.qingshan.example/uploads/nb.pdf",
                                          "http://www.qingshan.example/uploads/2022/nb2021.pdf",
                                          "http://www.qingshan.example/zwgk/files/t.xlsx"}
