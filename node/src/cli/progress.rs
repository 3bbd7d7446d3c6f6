//! Progress on the terminal for long uploads and downloads.
