//! The demo's province: Đồng Nai as its 2018 letter on status confirmation describes it (seed
//! 000: Công văn 125/SKH-CN-PTPM). Its units sit on the provincial network; Cục Thuế uses its
//! QLVB only on the tax sector's dedicated line, which reaches nothing but the provincial
//! relay.

use lienthong_protocol::roster::Role;

/// The networks of the province.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// The provincial network (mạng truyền số liệu chuyên dùng của tỉnh).
    Province,
    /// The tax sector's dedicated line (đường truyền chuyên dùng ngành thuế).
    Tax,
}

/// One node of the demo.
#[derive(Debug, Clone, Copy)]
pub struct Site {
    /// The agency id (QĐ 20/2020).
    pub organ_id: &'static str,
    /// The agency's name.
    pub name: &'static str,
    /// Agency or relay.
    pub role: Role,
    /// The networks it is attached to.
    pub networks: &'static [Network],
    /// Whether it keeps every receipt summary of the province (`[receipts] monitor`).
    pub monitor: bool,
    /// The ký hiệu of its documents (`125/SKH-CN-PTPM`).
    pub notation: &'static str,
    /// Who signs its documents: competence and position.
    pub signer: (&'static str, &'static str),
}

/// The provincial relay, run by the Trung tâm Tin học of the Văn phòng UBND tỉnh.
pub const RELAY: &str = "000.00.20.H19";

/// The provincial office, whose node monitors the province.
pub const OFFICE: &str = "000.00.01.H19";

/// Cục Thuế, on the tax network.
pub const TAX: &str = "000.19.01.G12";

/// Every node, the relay first (agencies name it when they are admitted).
pub const SITES: &[Site] = &[
    Site {
        organ_id: RELAY,
        name: "Trạm chuyển tiếp liên thông tỉnh Đồng Nai",
        role: Role::Relay,
        networks: &[Network::Province, Network::Tax],
        monitor: false,
        notation: "TTTH",
        signer: ("", ""),
    },
    Site {
        organ_id: OFFICE,
        name: "Văn phòng UBND tỉnh Đồng Nai",
        role: Role::Agency,
        networks: &[Network::Province],
        monitor: true,
        notation: "UBND-HCC",
        signer: ("TL. CHỦ TỊCH", "CHÁNH VĂN PHÒNG"),
    },
    Site {
        organ_id: "000.00.08.H19",
        name: "Sở Khoa học và Công nghệ",
        role: Role::Agency,
        networks: &[Network::Province],
        monitor: false,
        notation: "SKH-CN-PTPM",
        signer: ("KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"),
    },
    Site {
        organ_id: "000.00.11.H19",
        name: "Sở Tài chính",
        role: Role::Agency,
        networks: &[Network::Province],
        monitor: false,
        notation: "STC-NS",
        signer: ("KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"),
    },
    Site {
        organ_id: "000.00.16.H19",
        name: "Sở Y tế",
        role: Role::Agency,
        networks: &[Network::Province],
        monitor: false,
        notation: "SYT-VP",
        signer: ("", "GIÁM ĐỐC"),
    },
    Site {
        organ_id: "000.00.41.H19",
        name: "UBND huyện Xuân Lộc",
        role: Role::Agency,
        networks: &[Network::Province],
        monitor: false,
        notation: "UBND-VP",
        signer: ("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"),
    },
    Site {
        organ_id: TAX,
        name: "Cục Thuế tỉnh Đồng Nai",
        role: Role::Agency,
        networks: &[Network::Tax],
        monitor: false,
        notation: "CT-HCQT",
        signer: ("KT. CỤC TRƯỞNG", "PHÓ CỤC TRƯỞNG"),
    },
];

/// The trích yếu of the documents the demo's agencies send, after the letters of seed 000
/// (status confirmation on the axis, I-Office, the tax sector's line).
pub const SUBJECTS: &[&str] = &[
    "V/v báo cáo kết quả xác nhận trạng thái gửi nhận văn bản trên trục liên thông",
    "V/v nhắc xác nhận trạng thái gửi nhận văn bản trên trục liên thông",
    "V/v tiến hành thử nghiệm gửi văn bản điện tử trên phần mềm quản lý văn bản",
    "V/v rà soát, cập nhật gói tin xác nhận trạng thái cho các đơn vị sử dụng phần mềm I-Office",
    "V/v phối hợp gửi, nhận văn bản liên thông ngoài đường truyền chuyên dùng ngành thuế",
    "V/v báo cáo tình hình thu ngân sách nhà nước trên địa bàn tỉnh",
    "V/v đăng ký danh sách cán bộ đầu mối quản trị phần mềm quản lý văn bản",
    "V/v triển khai chữ ký số trên văn bản điện tử gửi qua trục liên thông",
];

impl Site {
    /// Whether it runs a QLVB (relays do not).
    pub fn is_agency(&self) -> bool {
        self.role == Role::Agency
    }

    /// Whether it sits only on the tax network.
    pub fn tax_only(&self) -> bool {
        self.networks == [Network::Tax]
    }
}
