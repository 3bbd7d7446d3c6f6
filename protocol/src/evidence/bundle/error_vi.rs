//! Why a bundle is refused, said in Vietnamese for `lienthong evidence verify`'s default
//! output: the inspector or archivist reading it is Vietnamese, and "the file failed"
//! is not enough for them to act on. Each variant gets its own sentence; what a nested
//! check said (a signature library's or the proof checker's words) follows as the
//! technical detail, verbatim, for whoever investigates further.

use super::BundleError;

impl BundleError {
    /// The reason, in Vietnamese, naming the file as [`Display`](std::fmt::Display) does.
    pub fn reason_vi(&self) -> String {
        match self {
            BundleError::NotAZip { reason } => {
                format!("tệp không phải là vùng chứa ZIP đọc được (chi tiết: {reason})")
            }
            BundleError::TooLarge { file, limit } => {
                format!("{file}: lớn hơn giới hạn {limit} byte")
            }
            BundleError::TooManyFiles { found, limit } => {
                format!("vùng chứa có {found} tệp, nhiều hơn giới hạn {limit}")
            }
            BundleError::UnexpectedFile { file } => {
                format!("{file}: không phải là tệp mà một gói chứng cứ có")
            }
            BundleError::Duplicate { file } => format!("{file}: xuất hiện hai lần"),
            BundleError::Unsupported { file } => {
                format!("{file}: được nén hoặc mã hoá theo cách trình đọc không chấp nhận")
            }
            BundleError::Missing { file, why } => {
                format!("{file}: bị thiếu (chi tiết: {why})")
            }
            BundleError::Mimetype { problem } => format!(
                "mimetype: phải là tệp đầu tiên, không nén, ghi application/vnd.etsi.asic-e+zip \
                 (chi tiết: {problem})"
            ),
            BundleError::Manifest { problem } => format!(
                "META-INF/manifest.xml: bản kê không đọc được hoặc không khớp với vùng chứa \
                 (chi tiết: {problem})"
            ),
            BundleError::Malformed { file, problem } => {
                format!("{file}: nội dung không đúng định dạng (chi tiết: {problem})")
            }
            BundleError::Roster { file, source } => format!(
                "{file}: danh sách thành viên không xác minh được bằng khoá gốc đã cho \
                 (chi tiết: {source})"
            ),
            BundleError::Envelope { file, source } => {
                format!(
                    "{file}: chữ ký hoặc cấu trúc của gói tin đã ký không hợp lệ (chi tiết: {source})"
                )
            }
            BundleError::ContentMismatch {
                file,
                found,
                signed,
            } => format!(
                "{file}: không phải là các byte edXML mà gói tin đã ký mang theo \
                 (SHA-256 của tệp {found}, đã ký {signed})"
            ),
            BundleError::KeyNotListed {
                file,
                organ_id,
                key,
                at,
                why,
            } => format!(
                "{file}: được ký bằng khoá {key}, khoá này không có trong danh sách thành viên \
                 của gói cho {organ_id} vào lúc {at} (chi tiết: {why})"
            ),
            BundleError::OtherPackage {
                file,
                found,
                expected,
            } => format!("{file}: hồi báo này nói về gói tin {found}, không phải {expected}"),
            BundleError::Leaf { file, problem } => format!(
                "{file}: sự kiện trong nhật ký không khớp với các đối tượng đã ký mà nó nêu \
                 (chi tiết: {problem})"
            ),
            BundleError::NotLogged { file } => {
                format!("{file}: không có sự kiện nào trong nhật ký của bên xuất nêu tệp này")
            }
            BundleError::Proof { file, leaf, source } => format!(
                "{file}: không chứng minh được {leaf} nằm trong điểm kiểm tra (checkpoint) \
                 (chi tiết: {source})"
            ),
            BundleError::Checkpoint { file, problem } => format!(
                "{file}: điểm kiểm tra (checkpoint) không hợp lệ hoặc không do khoá của bên \
                 xuất ký (chi tiết: {problem})"
            ),
            BundleError::NoteSignature { file, source } => format!(
                "{file}: chữ ký của bên xuất trên điểm kiểm tra không hợp lệ (chi tiết: {source})"
            ),
            BundleError::UnknownWitness { file, line, name } => format!(
                "{file}: dòng {line} nêu bên chứng kiến {name}, không có trong danh sách thành \
                 viên nào của gói"
            ),
            BundleError::Cosignature {
                file,
                line,
                witness,
                source,
            } => format!(
                "{file}: dòng {line}, chữ ký đồng xác nhận của bên chứng kiến {witness} không \
                 hợp lệ (chi tiết: {source})"
            ),
            BundleError::Timestamp { file, problem } => format!(
                "{file}: dấu thời gian (RFC 3161) không kiểm tra được hoặc không hợp lệ \
                 (chi tiết: {problem})"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_names_the_file_as_the_english_one_does() {
        let errors = [
            BundleError::Duplicate {
                file: "edxml/document.edxml".to_owned(),
            },
            BundleError::ContentMismatch {
                file: "edxml/document.edxml".to_owned(),
                found: "ab".to_owned(),
                signed: "cd".to_owned(),
            },
            BundleError::Timestamp {
                file: "META-INF/lienthong/timestamps/7.tsr".to_owned(),
                problem: "no TSA certificate given".to_owned(),
            },
        ];
        for error in errors {
            let file = error.file().expect("names a file");
            let vi = error.reason_vi();
            assert!(vi.starts_with(file), "{vi}");
            assert_ne!(vi, error.to_string(), "said in Vietnamese");
        }
    }
}
