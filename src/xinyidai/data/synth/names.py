"""Word lists for made-up but realistic-looking Weihai names: people, firms, roads, banks, authorities.

Every character here is in GB 2312, so GBK deliveries never meet an unencodable character.
"""

from __future__ import annotations

from typing import Final

# The most common surnames, roughly in frequency order (common ones are listed twice to weigh them).
SURNAMES: Final = tuple(
    "王李张刘陈杨赵黄周吴王李张刘陈徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈曾彭吕"
    "苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟"
    "龙万段曲鞠丛毕宫于刘王孙"
)
GIVEN: Final = tuple(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞建国海波宁辉晨阳琳雪梅志文斌"
    "浩宇欣怡子涵梓轩佳琪雨婷俊杰思远晓东立新春燕振华国庆德胜永刚丽娟海燕"
)

BRAND_CHARS: Final = tuple(
    "海鑫恒远华盛泰隆宏达金桥信诚瑞丰永安天成润通利民富源长青东方洋蓝湾威荣文乳成昌兴旺佳和"
    "宝鼎泓博锦程嘉合德众联创新航顺达凯"
)

COUNTIES: Final = ("371002", "371003", "371082", "371083")
COUNTY_NAMES: Final = ("环翠区", "文登区", "荣成市", "乳山市")
COUNTY_WEIGHTS: Final = (0.42, 0.20, 0.24, 0.14)
COURT_CODES: Final = ("鲁1002", "鲁1003", "鲁1082", "鲁1083")
COURT_NAMES: Final = ("威海市环翠区人民法院", "威海市文登区人民法院", "荣成市人民法院", "乳山市人民法院")

ROADS: Final = (
    "青岛路",
    "新威路",
    "统一路",
    "海滨路",
    "文化路",
    "世昌大道",
    "香港路",
    "昆明路",
    "沈阳路",
    "天津路",
    "黄河街",
    "峰山路",
    "米山路",
    "龙山路",
    "成山大道",
    "府前路",
    "胜利街",
    "深圳路",
    "齐鲁大道",
    "环山路",
)

# Birth-place codes for ID numbers: Weihai's counties and some other Shandong districts.
BIRTH_REGIONS: Final = (
    "371002",
    "371003",
    "371082",
    "371083",
    "370102",
    "370202",
    "370602",
    "370702",
    "371102",
    "370305",
    "370811",
    "371302",
)
PHONE_PREFIXES: Final = (
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "156",
    "157",
    "158",
    "159",
    "180",
    "181",
    "182",
    "183",
    "186",
    "187",
    "188",
    "189",
)

BANKS: Final = (
    "威海市商业银行",
    "中国工商银行威海分行",
    "中国农业银行威海分行",
    "中国建设银行威海分行",
    "中国银行威海分行",
    "交通银行威海分行",
    "威海农村商业银行",
    "中国邮政储蓄银行威海市分行",
    "荣成农村商业银行",
    "乳山农村商业银行",
)

COMPANY_SUFFIXES: Final = {
    "有限责任公司": "有限公司",
    "股份有限公司": "股份有限公司",
    "个人独资企业": "商行",
    "合伙企业": "企业(有限合伙)",
    "农民专业合作社": "专业合作社",
    "其他": "中心",
}

SHAREHOLDERS_WORDS: Final = ("自然人股东", "法人股东")
SCOPES: Final = (
    "一般项目：技术服务、技术开发、技术咨询",
    "一般项目：货物进出口；技术进出口",
    "一般项目：日用百货销售；五金产品零售",
    "一般项目：机械设备销售；金属制品销售",
    "许可项目：食品经营；餐饮服务",
    "一般项目：道路货物运输（不含危险货物）",
    "一般项目：水产品批发；水产品零售",
    "一般项目：软件开发；信息系统集成服务",
    "许可项目：建设工程施工",
    "一般项目：企业管理咨询；市场营销策划",
)
