//! Where a store is (数据库位置): a GeoPackage file, or a PostgreSQL/PostGIS schema.

use super::{AccountStore, GeoPackage, Store, StoreError, StoreWriter};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The store every subcommand opens when `--store` is not given.
pub const DEFAULT_STORE: &str = "data/landwatch.gpkg";

/// A store location, as `--store` gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreLocation {
    /// A GeoPackage file (`data/landwatch.gpkg`).
    GeoPackage(PathBuf),
    /// A schema of a PostgreSQL database with PostGIS
    /// (`postgresql://user@host:port/db?schema=landwatch`).
    PostGis(Box<PostGisLocation>),
}

/// The parts of a `postgresql://` store location; the password, if any, is never shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostGisLocation {
    /// The database user.
    pub user: Option<String>,
    /// The password given in the URL.
    pub password: Option<String>,
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// The database.
    pub database: String,
    /// The schema holding landwatch's tables.
    pub schema: String,
}

impl FromStr for StoreLocation {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            return Err("is empty: give a .gpkg file or a postgresql:// URL".into());
        }
        match ["postgresql://", "postgres://"]
            .iter()
            .find_map(|scheme| s.strip_prefix(scheme))
        {
            Some(rest) => PostGisLocation::parse(rest).map(|p| StoreLocation::PostGis(Box::new(p))),
            None => Ok(StoreLocation::GeoPackage(PathBuf::from(s))),
        }
    }
}

impl PostGisLocation {
    /// Parse what follows `postgresql://`: `[user[:password]@]host[:port]/database[?schema=S]`.
    fn parse(rest: &str) -> Result<PostGisLocation, String> {
        let form = "write it as postgresql://user@host:port/database?schema=landwatch";
        let (authority, rest) = rest
            .split_once('/')
            .ok_or_else(|| format!("names no database; {form}"))?;
        let (database, query) = rest.split_once('?').unwrap_or((rest, ""));
        if database.is_empty() {
            return Err(format!("names no database; {form}"));
        }
        let (credentials, hostport) = match authority.rsplit_once('@') {
            Some((c, h)) => (Some(c), h),
            None => (None, authority),
        };
        let (user, password) = match credentials.map(|c| c.split_once(':').unwrap_or((c, ""))) {
            Some((u, p)) => (
                (!u.is_empty()).then(|| u.to_string()),
                (!p.is_empty()).then(|| p.to_string()),
            ),
            None => (None, None),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .map_err(|_| format!("has port '{p}', not a number from 1 to 65535; {form}"))?,
            ),
            None => (hostport, 5432),
        };
        if host.is_empty() {
            return Err(format!("names no host; {form}"));
        }
        let mut schema = "landwatch".to_string();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("schema", v)) if !v.is_empty() => schema = v.to_string(),
                _ => {
                    return Err(format!(
                        "has the parameter '{pair}'; only schema=NAME is understood; {form}"
                    ))
                }
            }
        }
        Ok(PostGisLocation {
            user,
            password,
            host: host.to_string(),
            port,
            database: database.to_string(),
            schema,
        })
    }
}

impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreLocation::GeoPackage(path) => write!(f, "{}", path.display()),
            StoreLocation::PostGis(p) => {
                write!(f, "postgresql://")?;
                if let Some(u) = &p.user {
                    write!(f, "{u}@")?;
                }
                write!(
                    f,
                    "{}:{}/{}?schema={}",
                    p.host, p.port, p.database, p.schema
                )
            }
        }
    }
}

impl StoreLocation {
    /// A GeoPackage store at `path`.
    pub fn gpkg(path: impl Into<PathBuf>) -> StoreLocation {
        StoreLocation::GeoPackage(path.into())
    }

    /// The kind of store, in words (`GeoPackage`, `PostGIS`).
    pub fn kind(&self) -> &'static str {
        match self {
            StoreLocation::GeoPackage(_) => "GeoPackage",
            StoreLocation::PostGis(_) => "PostGIS",
        }
    }

    /// The GeoPackage file, for a GeoPackage store.
    pub fn path(&self) -> Option<&Path> {
        match self {
            StoreLocation::GeoPackage(p) => Some(p),
            StoreLocation::PostGis(_) => None,
        }
    }

    /// A short name for health reports: the file name, or the database and schema.
    pub fn short_name(&self) -> Option<String> {
        match self {
            StoreLocation::GeoPackage(p) => p.file_name().map(|n| n.to_string_lossy().into_owned()),
            StoreLocation::PostGis(p) => Some(format!("{}/{}", p.database, p.schema)),
        }
    }

    /// Open the store for reading.
    pub fn open(&self) -> Result<Box<dyn Store>, StoreError> {
        Ok(Box::new(self.open_gpkg(GeoPackage::open)?))
    }

    /// Open the store for writing; a GeoPackage that does not exist yet is created when its
    /// first layer commits.
    pub fn open_for_writing(&self) -> Result<Box<dyn StoreWriter>, StoreError> {
        Ok(Box::new(self.open_gpkg(GeoPackage::open_for_writing)?))
    }

    /// Open the store's accounts and audit log (see [`AccountStore`]).
    pub fn open_accounts(&self) -> Result<Box<dyn AccountStore>, StoreError> {
        Ok(Box::new(self.open_gpkg(GeoPackage::open_accounts)?))
    }

    fn open_gpkg(
        &self,
        open: fn(&Path) -> Result<GeoPackage, StoreError>,
    ) -> Result<GeoPackage, StoreError> {
        match self {
            StoreLocation::GeoPackage(path) => open(path),
            StoreLocation::PostGis(_) => Err(StoreError::NotBuilt(self.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_is_a_geopackage_and_a_url_a_postgis_schema() {
        let g: StoreLocation = "data/landwatch.gpkg".parse().unwrap();
        assert_eq!(g, StoreLocation::gpkg("data/landwatch.gpkg"));
        let p: StoreLocation = "postgresql://lw:secret@db.example:6543/land?schema=park7"
            .parse()
            .unwrap();
        let StoreLocation::PostGis(pg) = &p else {
            panic!("{p:?}")
        };
        assert_eq!(
            (
                pg.user.as_deref(),
                pg.password.as_deref(),
                pg.host.as_str(),
                pg.port
            ),
            (Some("lw"), Some("secret"), "db.example", 6543)
        );
        assert_eq!(
            (pg.database.as_str(), pg.schema.as_str()),
            ("land", "park7")
        );
        // The password is never shown.
        assert_eq!(
            p.to_string(),
            "postgresql://lw@db.example:6543/land?schema=park7"
        );
        let d: StoreLocation = "postgres://localhost/land".parse().unwrap();
        assert_eq!(
            d.to_string(),
            "postgresql://localhost:5432/land?schema=landwatch"
        );
        for bad in [
            "",
            "postgresql://host",
            "postgresql://host:x/db",
            "postgresql://h/db?sslmode=require",
        ] {
            assert!(bad.parse::<StoreLocation>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_postgis_store_is_refused_clearly_in_this_build() {
        let p: StoreLocation = "postgresql://lw@localhost/land".parse().unwrap();
        let e = p.open().err().expect("refused");
        assert!(
            e.to_string().contains("not built into this landwatch"),
            "{e}"
        );
    }
}
