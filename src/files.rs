//! Writing output files so that a killed process never leaves a torn one, and naming folders.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` atomically: a temporary file beside it, fsync, rename, fsync the folder.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomically_with(path, |output| output.write_all(bytes))
}

/// Writes what `fill` writes to `path` atomically, streaming: a temporary file beside it, fsync,
/// rename, fsync the folder. A write that fails removes its temporary file.
pub fn write_atomically_with(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let folder = path.parent().filter(|parent| !parent.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(folder)?;
    let file_name = path.file_name().and_then(|name| name.to_str()).unwrap_or("output");
    let temporary = folder.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let written = write_and_rename(&temporary, path, fill);
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    written?;
    // The rename is durable only once the folder's entry is on disk.
    File::open(folder)?.sync_all()
}

fn write_and_rename(
    temporary: &Path,
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut output = BufWriter::new(File::create(temporary)?);
    fill(&mut output)?;
    let file = output.into_inner().map_err(|error| error.into_error())?;
    file.sync_all()?;
    drop(file);
    fs::rename(temporary, path)
}

/// `reports/<prefix><UTC timestamp>` as `YYYYMMDDTHHMMSSZ`, the default output folder.
pub fn default_output_folder(prefix: &str) -> PathBuf {
    PathBuf::from("reports").join(format!("{prefix}{}", utc_timestamp(std::time::SystemTime::now())))
}

/// A wall-clock instant as `YYYYMMDDTHHMMSSZ` (UTC); only ever names folders.
pub fn utc_timestamp(at: std::time::SystemTime) -> String {
    let seconds = at.duration_since(std::time::UNIX_EPOCH).map(|elapsed| elapsed.as_secs()).unwrap_or(0);
    let (year, month, day) = civil_from_days((seconds / 86_400) as i64);
    let second_of_day = seconds % 86_400;
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn timestamps_name_the_utc_date_and_time() {
        assert_eq!(utc_timestamp(UNIX_EPOCH), "19700101T000000Z");
        assert_eq!(utc_timestamp(UNIX_EPOCH + Duration::from_secs(951_782_400 + 3_723)), "20000229T010203Z");
        assert_eq!(utc_timestamp(UNIX_EPOCH + Duration::from_secs(1_798_761_599)), "20261231T235959Z");
    }

    #[test]
    fn an_atomic_write_replaces_the_file_and_leaves_no_temporary() {
        let folder = std::env::temp_dir().join(format!("fleetsim-files-{}", std::process::id()));
        let path = folder.join("a.json");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(fs::read_dir(&folder).unwrap().count(), 1);
        fs::remove_dir_all(folder).unwrap();
    }

    #[test]
    fn a_failed_atomic_write_leaves_the_old_file_and_no_temporary() {
        let folder = std::env::temp_dir().join(format!("fleetsim-files-failed-{}", std::process::id()));
        let path = folder.join("a.json");
        write_atomically(&path, b"one").unwrap();
        let failing = write_atomically_with(&path, |output| {
            output.write_all(b"half")?;
            Err(std::io::Error::other("disk full"))
        });
        assert!(failing.is_err());
        // A rename onto a folder fails after the temporary file was written and synced.
        fs::create_dir_all(folder.join("b.json")).unwrap();
        assert!(write_atomically(&folder.join("b.json"), b"two").is_err());
        assert_eq!(fs::read(&path).unwrap(), b"one");
        let mut names: Vec<String> =
            fs::read_dir(&folder).unwrap().map(|entry| entry.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        assert_eq!(names, ["a.json", "b.json"]);
        fs::remove_dir_all(folder).unwrap();
    }
}
