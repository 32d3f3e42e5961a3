//! Where the warehouse lives: a root URL (a local folder by default; `s3://bucket/prefix` and the
//! other schemes object_store knows by URL, with storage options such as an endpoint and
//! credentials), each table in a folder named after it, and the object store under the root for
//! the raw change archive.

use crate::WarehouseError;
use crate::tables::TableSpec;
use deltalake::DeltaTable;
use futures::StreamExt;
use object_store::ObjectStore;
use std::collections::HashMap;
use std::sync::{Arc, Once};
use url::Url;

/// An open warehouse.
#[derive(Clone)]
pub struct Warehouse {
    root: Url,
    options: HashMap<String, String>,
    store: Arc<dyn ObjectStore>,
}

impl std::fmt::Debug for Warehouse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Warehouse").field("root", &self.root.as_str()).finish()
    }
}

impl Warehouse {
    /// Opens the warehouse at `location`: a path (created if missing) or a URL. `options` are
    /// object-store options (for S3: `aws_endpoint`, `aws_access_key_id`, `aws_allow_http`, …).
    pub fn open(location: &str, options: HashMap<String, String>) -> Result<Self, WarehouseError> {
        static HANDLERS: Once = Once::new();
        HANDLERS.call_once(|| deltalake::aws::register_handlers(None));
        let error = |reason: String| WarehouseError::Location { url: location.to_string(), reason };
        let root = match Url::parse(location) {
            Ok(url) if url.scheme().len() > 1 => url,
            _ => {
                std::fs::create_dir_all(location).map_err(|e| error(e.to_string()))?;
                let path = std::fs::canonicalize(location).map_err(|e| error(e.to_string()))?;
                Url::from_directory_path(&path).map_err(|()| error("not an absolute path".into()))?
            }
        };
        if root.cannot_be_a_base() {
            return Err(error("not a folder or a storage URL like s3://bucket/prefix".into()));
        }
        let mut root = root;
        if !root.path().ends_with('/') {
            let path = format!("{}/", root.path());
            root.set_path(&path);
        }
        let (store, path) = object_store::parse_url_opts(&root, options.iter()).map_err(|e| error(e.to_string()))?;
        let store: Arc<dyn ObjectStore> = Arc::new(object_store::prefix::PrefixStore::new(store, path));
        Ok(Warehouse { root, options, store })
    }

    /// The root URL (ending in `/`).
    pub fn root(&self) -> &Url {
        &self.root
    }

    /// The object store, rooted at the warehouse root (for the raw change archive).
    pub fn object_store(&self) -> Arc<dyn ObjectStore> {
        self.store.clone()
    }

    /// The URL of a table's folder.
    pub fn table_url(&self, spec: &TableSpec) -> Url {
        let mut url = self.root.clone();
        url.set_path(&format!("{}{}/", self.root.path(), spec.name));
        url
    }

    /// Opens a table as of its newest version, creating it (empty, with its schema and
    /// partitioning) if it does not exist yet.
    pub async fn table(&self, spec: &TableSpec) -> Result<DeltaTable, WarehouseError> {
        if let Ok(path) = self.table_url(spec).to_file_path() {
            std::fs::create_dir_all(&path).map_err(|e| WarehouseError::Location {
                url: self.root.to_string(),
                reason: format!("cannot create {}: {e}", path.display()),
            })?;
        }
        let log = object_store::path::Path::from(format!("{}/_delta_log/", spec.name));
        let exists = self.store.list(Some(&log)).next().await.transpose()?.is_some();
        let delta = |e| WarehouseError::delta(spec.name, e);
        if exists {
            return DeltaTable::try_from_url_with_storage_options(self.table_url(spec), self.options.clone())
                .await
                .map_err(delta);
        }
        let table = deltalake::DeltaTableBuilder::from_url(self.table_url(spec))
            .map_err(delta)?
            .with_storage_options(self.options.clone())
            .build()
            .map_err(delta)?;
        use deltalake::kernel::engine::arrow_conversion::TryIntoKernel;
        let schema: deltalake::kernel::StructType =
            spec.schema().as_ref().try_into_kernel().map_err(|e| WarehouseError::delta(spec.name, e.into()))?;
        let created = table
            .create()
            .with_table_name(spec.name)
            .with_columns(schema.fields().cloned())
            .with_partition_columns(spec.partition_by.iter().copied())
            .with_save_mode(deltalake::protocol::SaveMode::Ignore)
            .await;
        match created {
            Ok(table) => Ok(table),
            // Another writer created it first: open theirs.
            Err(_) => DeltaTable::try_from_url_with_storage_options(self.table_url(spec), self.options.clone())
                .await
                .map_err(|e| WarehouseError::delta(spec.name, e)),
        }
    }
}
