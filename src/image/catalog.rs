//! The store's record of skill images: which skill uses which image, which
//! images are quarantined, and the clean-up and rescan that work from it.

use std::collections::{BTreeMap, HashMap, HashSet};

use bollard::query_parameters::{ListImagesOptionsBuilder, RemoveImageOptionsBuilder};
use bollard::Docker;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use serde_json::json;

use super::LABEL_MANAGED;
use crate::advisory::{AdvisoryDb, SeverityPolicy, Vulnerability};
use crate::audit::{self, AuditEvent};
use crate::docker::engine_error;
use crate::error::{Error, Result};
use crate::resolve::Lock;
use crate::store::{Store, NOW};

/// One skill's image as the store records it.
#[derive(Clone, Debug, Serialize)]
pub struct SkillImage {
    pub skill_id: String,
    pub image_tag: String,
    pub lock_digest: String,
    pub installed_at: String,
    /// The reason the image is quarantined, if it is.
    pub quarantined: Option<String>,
}

/// Records (or replaces) the image of a skill.
pub fn record_skill_image(store: &Store, skill_id: &str, tag: &str, lock: &Lock) -> Result<()> {
    let connection = store.lock();
    connection.execute(
        &format!(
            "INSERT INTO skill_images (skill_id, image_tag, lock_digest, lock, installed_at) VALUES (?1, ?2, ?3, ?4, {NOW})
             ON CONFLICT (skill_id) DO UPDATE SET image_tag = excluded.image_tag, lock_digest = excluded.lock_digest,
               lock = excluded.lock, installed_at = excluded.installed_at"
        ),
        params![skill_id, tag, lock.digest, lock.to_json()],
    )?;
    Ok(())
}

const COLUMNS: &str = "s.skill_id, s.image_tag, s.lock_digest, s.installed_at, q.reason
    FROM skill_images s LEFT JOIN image_quarantine q ON q.image_tag = s.image_tag";

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<SkillImage> {
    Ok(SkillImage {
        skill_id: row.get(0)?,
        image_tag: row.get(1)?,
        lock_digest: row.get(2)?,
        installed_at: row.get(3)?,
        quarantined: row.get(4)?,
    })
}

/// Returns the image record of one skill.
pub fn skill_image(store: &Store, skill_id: &str) -> Result<Option<SkillImage>> {
    let connection = store.lock();
    Ok(connection
        .query_row(&format!("SELECT {COLUMNS} WHERE s.skill_id = ?1"), [skill_id], from_row)
        .optional()?)
}

/// Lists every skill's image record, by skill id.
pub fn skill_images(store: &Store) -> Result<Vec<SkillImage>> {
    let connection = store.lock();
    let mut statement = connection.prepare(&format!("SELECT {COLUMNS} ORDER BY s.skill_id"))?;
    let images = statement.query_map([], from_row)?.collect::<Result<Vec<_>, _>>()?;
    Ok(images)
}

/// Returns the reason an image is quarantined, if it is.
pub fn quarantine_reason(store: &Store, tag: &str) -> Result<Option<String>> {
    let connection = store.lock();
    Ok(connection
        .query_row("SELECT reason FROM image_quarantine WHERE image_tag = ?1", [tag], |row| row.get(0))
        .optional()?)
}

/// Refuses to go on when an image is quarantined.
pub fn ensure_not_quarantined(store: &Store, tag: &str) -> Result<()> {
    match quarantine_reason(store, tag)? {
        None => Ok(()),
        Some(reason) => Err(Error::Quarantined(format!(
            "image {tag} is quarantined: {reason}\nhint: reinstall the skill with fixed versions, or waive the advisory and release the image"
        ))),
    }
}

/// Quarantines an image (or updates the reason), audited.
pub fn quarantine(store: &Store, tag: &str, reason: &str) -> Result<()> {
    let mut connection = store.lock();
    let transaction = connection.transaction()?;
    transaction.execute(
        &format!(
            "INSERT INTO image_quarantine (image_tag, reason, quarantined_at) VALUES (?1, ?2, {NOW})
             ON CONFLICT (image_tag) DO UPDATE SET reason = excluded.reason"
        ),
        params![tag, reason],
    )?;
    audit::record(
        &transaction,
        &AuditEvent { action: "image_quarantined", detail: json!({ "image_tag": tag, "reason": reason }), ..Default::default() },
    )?;
    transaction.commit()?;
    Ok(())
}

/// Lifts a quarantine; returns whether the image was quarantined.
pub fn release(store: &Store, tag: &str, actor: Option<&str>) -> Result<bool> {
    let mut connection = store.lock();
    let transaction = connection.transaction()?;
    let removed = transaction.execute("DELETE FROM image_quarantine WHERE image_tag = ?1", [tag])? > 0;
    if removed {
        audit::record(
            &transaction,
            &AuditEvent { action: "image_released", actor, detail: json!({ "image_tag": tag }), ..Default::default() },
        )?;
    }
    transaction.commit()?;
    Ok(removed)
}

/// One image that a rescan found vulnerable.
#[derive(Clone, Debug, Serialize)]
pub struct RescanFinding {
    pub image_tag: String,
    pub skills: Vec<String>,
    pub vulnerabilities: Vec<Vulnerability>,
    pub quarantined: bool,
}

/// Matches the lock of every recorded image against the current advisories
/// and returns the images with a vulnerability that denies under `policy`
/// (active waivers respected). With `quarantine`, those images are quarantined.
pub fn rescan(store: &Store, advisories: &AdvisoryDb, policy: &SeverityPolicy, quarantine_found: bool) -> Result<Vec<RescanFinding>> {
    let rows: Vec<(String, String, String)> = {
        let connection = store.lock();
        let mut statement = connection.prepare("SELECT skill_id, image_tag, lock FROM skill_images ORDER BY image_tag, skill_id")?;
        let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?.collect::<Result<Vec<_>, _>>()?;
        rows
    };
    let mut by_image: BTreeMap<String, (Vec<String>, String)> = BTreeMap::new();
    for (skill_id, tag, lock) in rows {
        by_image.entry(tag).or_insert_with(|| (Vec::new(), lock)).0.push(skill_id);
    }

    let waivers = advisories.active_waivers()?;
    let mut findings = Vec::new();
    for (tag, (skills, lock)) in by_image {
        let lock = Lock::from_json(&lock).map_err(|error| Error::Advisory(format!("the stored lock of image {tag} is corrupt: {error}")))?;
        let packages: Vec<(&str, &str)> = lock.packages.iter().map(|package| (package.name.as_str(), package.version.as_str())).collect();
        let mut vulnerabilities = Vec::new();
        for mut vulnerability in advisories.match_packages(&packages)? {
            if waivers.contains_key(&vulnerability.id) && !vulnerability.is_malicious() {
                continue;
            }
            vulnerability.denies = policy.denies(&vulnerability);
            if vulnerability.denies {
                vulnerabilities.push(vulnerability);
            }
        }
        if vulnerabilities.is_empty() {
            continue;
        }
        if quarantine_found {
            let ids: Vec<String> = vulnerabilities.iter().map(|found| format!("{} {} ({})", found.package, found.version, found.id)).collect();
            quarantine(store, &tag, &format!("known vulnerabilities since it was built: {}", ids.join(", ")))?;
        }
        findings.push(RescanFinding { image_tag: tag, skills, vulnerabilities, quarantined: quarantine_found });
    }
    Ok(findings)
}

/// One skillguard image on the engine, with the skills of this database that use it.
#[derive(Clone, Debug, Serialize)]
pub struct EngineImage {
    pub id: String,
    pub tags: Vec<String>,
    pub size: i64,
    /// Seconds since the Unix epoch.
    pub created: i64,
    pub labels: HashMap<String, String>,
    pub skills: Vec<String>,
}

/// Lists the engine's skillguard images (by their managed label) and the skills using each.
pub async fn engine_images(docker: &Docker, store: &Store) -> Result<Vec<EngineImage>> {
    let filters = HashMap::from([("label".to_string(), vec![format!("{LABEL_MANAGED}=1")])]);
    let options = ListImagesOptionsBuilder::default().filters(&filters).build();
    let images = docker.list_images(Some(options)).await.map_err(|error| engine_error("failed to list skill images", error))?;
    let records = skill_images(store)?;
    Ok(images
        .into_iter()
        .map(|image| {
            let tags: Vec<String> = image.repo_tags.into_iter().filter(|tag| tag != "<none>:<none>").collect();
            let skills = records
                .iter()
                .filter(|record| tags.contains(&record.image_tag))
                .map(|record| record.skill_id.clone())
                .collect();
            EngineImage { id: image.id, tags, size: image.size, created: image.created, labels: image.labels, skills }
        })
        .collect())
}

/// The images, bytes and skill records a removal or prune freed.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Removal {
    pub removed_images: Vec<String>,
    pub freed_bytes: i64,
    /// Skills whose image record was dropped.
    pub skills: Vec<String>,
}

/// Drops a skill's image record and removes the image when no other skill uses it.
pub async fn remove_skill(docker: &Docker, store: &Store, skill_id: &str) -> Result<Removal> {
    let Some(record) = skill_image(store, skill_id)? else {
        return Err(Error::ImageNotFound(format!("skill {skill_id} has no installed image")));
    };
    let still_used = {
        let mut connection = store.lock();
        let transaction = connection.transaction()?;
        transaction.execute("DELETE FROM skill_images WHERE skill_id = ?1", [skill_id])?;
        audit::record(
            &transaction,
            &AuditEvent {
                action: "skill_image_removed",
                skill_id: Some(skill_id),
                detail: json!({ "image_tag": record.image_tag }),
                ..Default::default()
            },
        )?;
        let users: i64 = transaction.query_row("SELECT count(*) FROM skill_images WHERE image_tag = ?1", [&record.image_tag], |row| row.get(0))?;
        transaction.commit()?;
        users > 0
    };
    let mut removal = Removal { skills: vec![skill_id.to_string()], ..Default::default() };
    if !still_used {
        removal.freed_bytes += remove_image(docker, &record.image_tag).await?;
        removal.removed_images.push(record.image_tag);
    }
    Ok(removal)
}

/// Removes skillguard images that no skill uses and, when `older_than_days`
/// is given, also images built longer ago than that (dropping the records
/// of the skills that used them, which must then install again).
// NOTE: "uses" means a record in this database. Images that skills of
// another database on the same engine use are removed too, and rebuilt by
// their next install.
pub async fn prune(docker: &Docker, store: &Store, older_than_days: Option<f64>) -> Result<Removal> {
    let filters = HashMap::from([("label".to_string(), vec![format!("{LABEL_MANAGED}=1")])]);
    let options = ListImagesOptionsBuilder::default().filters(&filters).build();
    let images = docker.list_images(Some(options)).await.map_err(|error| engine_error("failed to list skill images", error))?;
    let used: HashSet<String> = skill_images(store)?.into_iter().map(|image| image.image_tag).collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() as i64)
        .unwrap_or(0);

    let mut removal = Removal::default();
    for image in images {
        let too_old = older_than_days.is_some_and(|days| (now - image.created) as f64 > days * 86_400.0);
        let tags: Vec<String> = image.repo_tags.iter().filter(|tag| tag.as_str() != "<none>:<none>").cloned().collect();
        // Identical builds share one image under several tags; an unused tag
        // is removed even while another tag of the same image is in use.
        let doomed: Vec<&String> = tags.iter().filter(|tag| too_old || !used.contains(*tag)).collect();
        if doomed.is_empty() {
            continue;
        }
        for tag in doomed.iter().filter(|tag| used.contains(**tag)) {
            removal.skills.extend(drop_records_of(store, tag)?);
        }
        for tag in &doomed {
            remove_image(docker, tag).await?;
            removal.removed_images.push((*tag).clone());
        }
        if doomed.len() == tags.len() {
            removal.freed_bytes += image.size;
        }
    }
    Ok(removal)
}

/// Drops the records of the skills using `tag`, audited, and returns their ids.
fn drop_records_of(store: &Store, tag: &str) -> Result<Vec<String>> {
    let mut connection = store.lock();
    let transaction = connection.transaction()?;
    let skills = {
        let mut statement = transaction.prepare("SELECT skill_id FROM skill_images WHERE image_tag = ?1")?;
        let skills = statement.query_map([tag], |row| row.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
        skills
    };
    transaction.execute("DELETE FROM skill_images WHERE image_tag = ?1", [tag])?;
    audit::record(
        &transaction,
        &AuditEvent { action: "skill_image_pruned", detail: json!({ "image_tag": tag, "skills": skills }), ..Default::default() },
    )?;
    transaction.commit()?;
    Ok(skills)
}

/// Removes one tag, and the image itself once no tag is left. Returns the
/// bytes freed: the image's size when this was its last tag, else 0.
async fn remove_image(docker: &Docker, reference: &str) -> Result<i64> {
    let size = match docker.inspect_image(reference).await {
        Ok(image) if image.repo_tags.as_ref().is_some_and(|tags| tags.len() > 1) => 0,
        Ok(image) => image.size.unwrap_or(0),
        Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => return Ok(0),
        Err(error) => return Err(engine_error(&format!("failed to inspect image {reference}"), error)),
    };
    let options = RemoveImageOptionsBuilder::default().force(true).build();
    match docker.remove_image(reference, Some(options), None).await {
        Ok(_) => {
            log::info!("removed image {reference}");
            Ok(size)
        }
        Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(0),
        Err(error) => Err(engine_error(&format!("failed to remove image {reference}"), error)),
    }
}
